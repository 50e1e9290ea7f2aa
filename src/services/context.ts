/** Request-context helpers shared by the managers. */
import { RequestContext } from '../rpc/index.js';

/** The same request (same request_id) with admin rights, like Nova's `context.elevated()`. */
export function elevated(context: RequestContext): RequestContext {
  if (context.isAdmin) return context;
  return context.with({ isAdmin: true, roles: [...new Set([...context.roles, 'admin'])] });
}

/** A message naming an error, for faults and logs; never a stack trace. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
