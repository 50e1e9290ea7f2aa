/** Request helpers shared by the route modules. */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../../rpc/index.js';
import { ApiFault } from '../faults.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated request context (set by the auth hook). */
    novaContext: RequestContext | null;
  }
}

/** The request's context; the auth hook guarantees it on authenticated routes. */
export function contextOf(request: FastifyRequest): RequestContext {
  if (!request.novaContext) throw new ApiFault(401, 'Authentication required.');
  return request.novaContext;
}

/** `http://host:port/v2.1`, the base of every link. */
export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/v2.1`;
}

/** A path parameter. */
export function param(request: FastifyRequest, name: string): string {
  return (request.params as Record<string, string>)[name] ?? '';
}

/** A query parameter (first value). */
export function query(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Fails with 403 unless the caller is an admin (Nova's admin-only policies). */
export function requireAdmin(request: FastifyRequest, policy: string): RequestContext {
  const ctx = contextOf(request);
  if (!ctx.isAdmin) throw new ApiFault(403, `Policy doesn't allow ${policy} to be performed.`);
  return ctx;
}
