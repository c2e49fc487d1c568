/** What an election tells its member. */
export interface SseElectionEvents {
  /** This member is now the leader: it opens the stream. */
  lead(): void;
  /** This member lost leadership without giving it up (another leader won a conflict): it closes the stream. */
  resign(): void;
}

/**
 * Picks one member of a shared stream to hold the EventSource. At most one member
 * leads at a time once messages settle; when the leader goes (closed, crashed,
 * frozen), another member leads within a bounded time.
 */
export interface SseTabElection {
  /** Competes for leadership. May be called again after `stop()`. */
  start(events: SseElectionEvents): void;
  /** Gives leadership up, if held, and stops competing (`resign` is not called). */
  stop(): void;
  /** The leader stopped answering (a frozen or hung page keeps what it holds): lead in its place. */
  takeOver(): void;
}
