/**
 * Compute API microversions, as Nova negotiates them.
 *
 * How to use it (route modules):
 * - `request.microversion` is the parsed version of every request in the compute scope
 *   (`/v2.1/...`): from `OpenStack-API-Version: compute X.Y`, else the legacy
 *   `X-OpenStack-Nova-API-Version: X.Y`, else 2.1; `latest` means {@link MAX_MICROVERSION}.
 *   A version outside [{@link MIN_MICROVERSION}, {@link MAX_MICROVERSION}] is a 406
 *   (`computeFault`), a malformed one a 400. It is NOT set on the identity and image
 *   endpoints, which ignore the compute header.
 * - `isAtLeast(request.microversion, '2.36')` / `isAtMost(request.microversion, '2.35')`
 *   switch behaviour inside a handler.
 * - `app.get('/os-security-groups', since(undefined, '2.35'), handler)` (or
 *   `{ config: { microversions: { max: '2.35' } } }`) declares the route's range: outside
 *   it the route answers 404, as Nova does for an API removed at a microversion. The
 *   check runs after authentication (401 first) and before the handler (so before policy).
 * - Responses in the compute scope carry `OpenStack-API-Version: compute X.Y`,
 *   `X-OpenStack-Nova-API-Version: X.Y` and `Vary`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiFault } from './faults.js';

/** A microversion `major.minor`. */
export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

/** A route's inclusive range; a missing end is open. */
export interface MicroversionRange {
  min?: string;
  max?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The negotiated compute microversion (set in the compute scope only). */
    microversion: Microversion;
  }
  interface FastifyContextConfig {
    /** The microversions this route exists at (404 outside). */
    microversions?: MicroversionRange;
  }
}

/** The oldest microversion served (and the one a request without a header gets). */
export const MIN_MICROVERSION = '2.1';
/** The newest microversion served; every behaviour change up to it holds. */
export const MAX_MICROVERSION = '2.79';

const VERSION = /^([1-9]\d*)\.(0|[1-9]\d*)$/;

/** Parses `X.Y`; a malformed string is Nova's 400. */
export function parseMicroversion(text: string): Microversion {
  const match = VERSION.exec(text.trim());
  if (!match) throw new ApiFault(400, `API Version String ${text.trim()} is of invalid format. Must be of format MajorNum.MinorNum.`);
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** `X.Y`. */
export function formatMicroversion(version: Microversion): string {
  return `${version.major}.${version.minor}`;
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** True when `version` is `other` or newer. */
export function isAtLeast(version: Microversion, other: string): boolean {
  return compareMicroversions(version, parseMicroversion(other)) >= 0;
}

/** True when `version` is `other` or older. */
export function isAtMost(version: Microversion, other: string): boolean {
  return compareMicroversions(version, parseMicroversion(other)) <= 0;
}

/** True when `version` lies within `range` (inclusive). */
export function inRange(version: Microversion, range: MicroversionRange): boolean {
  return (!range.min || isAtLeast(version, range.min)) && (!range.max || isAtMost(version, range.max));
}

/** Route options declaring the microversions a route exists at: `app.get(path, since('2.53'), handler)`. */
export function since(min: string | undefined, max?: string): { config: { microversions: MicroversionRange } } {
  return { config: { microversions: { ...(min ? { min } : {}), ...(max ? { max } : {}) } } };
}

/** The version a request asks for (headers as fastify gives them); throws 400/406 as Nova does. */
export function negotiateMicroversion(headers: FastifyRequest['headers']): Microversion {
  const asked = askedVersion(headers);
  if (asked === undefined) return parseMicroversion(MIN_MICROVERSION);
  if (asked.toLowerCase() === 'latest') return parseMicroversion(MAX_MICROVERSION);
  const version = parseMicroversion(asked);
  if (!inRange(version, { min: MIN_MICROVERSION, max: MAX_MICROVERSION })) {
    throw new ApiFault(406, `Version ${formatMicroversion(version)} is not supported by the API. Minimum is ${MIN_MICROVERSION} and maximum is ${MAX_MICROVERSION}.`);
  }
  return version;
}

/** Stamps the version headers on a compute response. */
export function setVersionHeaders(reply: FastifyReply, version: Microversion): void {
  const text = formatMicroversion(version);
  void reply.header('openstack-api-version', `compute ${text}`);
  void reply.header('x-openstack-nova-api-version', text);
  void reply.header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
}

/** onRequest work for the compute scope: negotiate, remember, answer the headers. */
export function applyMicroversion(request: FastifyRequest, reply: FastifyReply): void {
  setVersionHeaders(reply, parseMicroversion(MIN_MICROVERSION));
  request.microversion = negotiateMicroversion(request.headers);
  setVersionHeaders(reply, request.microversion);
}

/** preHandler work: a route outside its declared range is not found. */
export function checkRouteRange(request: FastifyRequest): void {
  const range = request.routeOptions.config.microversions;
  if (range && !inRange(request.microversion, range)) throw new ApiFault(404, 'The resource could not be found.');
}

/** The compute entry of `OpenStack-API-Version` (it may list several services), else the legacy header. */
function askedVersion(headers: FastifyRequest['headers']): string | undefined {
  for (const entry of headerValues(headers['openstack-api-version']).flatMap((value) => value.split(','))) {
    const [service, version] = entry.trim().split(/\s+/, 2);
    if (service?.toLowerCase() === 'compute' && version) return version;
  }
  const legacy = headerValues(headers['x-openstack-nova-api-version'])[0];
  return legacy?.trim() ? legacy.trim() : undefined;
}

function headerValues(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
