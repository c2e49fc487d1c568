/** The demo's own token claims: `sub` is the user id, `roles` is optional. */
export interface DemoUser {
  userId: string;
  roles: string[];
}

export const DEMO_JWT_ALGORITHM = 'HS256';
export const DEMO_TOKEN_TTL = 3600;
