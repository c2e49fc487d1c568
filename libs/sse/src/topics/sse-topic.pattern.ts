import { SSE_LIMITS, topicProblem } from '@nest-sse/protocol';

/** A parameter segment of a pattern: `:orderId`. */
const PARAM_SEGMENT = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * A compiled `@SseTopic()` pattern: segments joined by `/`, each a literal topic
 * segment or a `:name` parameter standing for exactly one segment.
 */
export class SseTopicPattern {
  /** Per segment: the literal it must equal, or the parameter it binds. */
  private readonly segments: ReadonlyArray<{ literal: string } | { param: string }>;

  private constructor(readonly source: string) {
    this.segments = source.split('/').map((segment) => {
      const param = PARAM_SEGMENT.exec(segment);
      return param ? { param: param[1] } : { literal: segment };
    });
  }

  /** Compiles a pattern; throws a `TypeError` saying what is wrong with it. */
  static compile(source: unknown): SseTopicPattern {
    const problem = topicPatternProblem(source);
    if (problem) throw new TypeError(`@SseTopic(${JSON.stringify(source)}): ${problem}`);
    return new SseTopicPattern(source as string);
  }

  /** The parameters a topic binds, or `undefined` when it does not match. */
  match(topic: string): Record<string, string> | undefined {
    const parts = topic.split('/');
    if (parts.length !== this.segments.length) return undefined;
    const params = Object.create(null) as Record<string, string>;
    for (let i = 0; i < parts.length; i++) {
      const segment = this.segments[i];
      if ('literal' in segment) {
        if (segment.literal !== parts[i]) return undefined;
      } else {
        params[segment.param] = parts[i];
      }
    }
    return params;
  }

  /**
   * Whether some topic matches both patterns: same number of segments, and at
   * each place either a parameter or the same literal. Declarations may not
   * overlap, so each topic has at most one policy.
   */
  overlaps(other: SseTopicPattern): boolean {
    if (other.segments.length !== this.segments.length) return false;
    return this.segments.every((segment, i) => {
      const theirs = other.segments[i];
      return !('literal' in segment) || !('literal' in theirs) || segment.literal === theirs.literal;
    });
  }
}

/** Why `source` cannot be a topic pattern, or `undefined` when it can. */
function topicPatternProblem(source: unknown): string | undefined {
  if (typeof source !== 'string' || source.length === 0) return 'a topic pattern must be a non-empty string';
  if (source.length > SSE_LIMITS.topicLength)
    return `a topic pattern is longer than ${SSE_LIMITS.topicLength} characters`;
  const names = new Set<string>();
  for (const segment of source.split('/')) {
    const param = PARAM_SEGMENT.exec(segment);
    if (param) {
      if (names.has(param[1])) return `parameter :${param[1]} appears twice`;
      names.add(param[1]);
    } else if (segment.startsWith(':') || topicProblem(segment) !== undefined) {
      return `segment ${JSON.stringify(segment)} is neither a topic segment (letters, digits, ._~:@-) nor a :parameter`;
    }
  }
  return undefined;
}
