/**
 * Microversions of the instance HA API (`OpenStack-API-Version: instance-ha 1.x`):
 * 1.0 initial; 1.1 notification recovery workflow details; 1.2 segment `enabled`;
 * 1.3 vmoves. No header means 1.0, `latest` means 1.3; a malformed one is 400 and one
 * out of range 406, as Masakari answers. Every answer names the version it used.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiFault } from '../../api/faults.js';

export const HA_MIN_VERSION = '1.0';
export const HA_MAX_VERSION = '1.3';
const SERVICE = 'instance-ha';

/** A microversion as [major, minor]. */
export type HaVersion = readonly [number, number];

declare module 'fastify' {
  interface FastifyRequest {
    /** The instance HA microversion of the request. */
    haVersion: HaVersion;
  }
}

function parse(text: string): HaVersion {
  const match = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(text);
  if (!match) throw new ApiFault(400, `API Version String ${text} is of invalid format. Must be of format MajorNum.MinorNum.`);
  return [Number(match[1]), Number(match[2])];
}

function compare(a: HaVersion, b: HaVersion): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** `1.2` of a version. */
export function versionString(version: HaVersion): string {
  return `${version[0]}.${version[1]}`;
}

/** Whether the request asked for at least `min`. */
export function atLeast(request: FastifyRequest, min: string): boolean {
  return compare(request.haVersion, parse(min)) >= 0;
}

/** The version a request asks for. */
export function requestedVersion(header: string | string[] | undefined): HaVersion {
  const values = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((part) => part.trim().split(/\s+/));
  const asked = values.find(([service]) => service?.toLowerCase() === SERVICE)?.[1];
  if (!asked) return parse(HA_MIN_VERSION);
  if (asked.toLowerCase() === 'latest') return parse(HA_MAX_VERSION);
  const version = parse(asked);
  if (compare(version, parse(HA_MIN_VERSION)) < 0 || compare(version, parse(HA_MAX_VERSION)) > 0) {
    throw new ApiFault(406, `Version ${asked} is not supported by the API. Minimum is ${HA_MIN_VERSION} and maximum is ${HA_MAX_VERSION}.`);
  }
  return version;
}

/** onRequest hook: sets `request.haVersion` and the response's version headers. */
export async function applyHaVersion(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  request.haVersion = parse(HA_MIN_VERSION);
  request.haVersion = requestedVersion(request.headers['openstack-api-version']);
  void reply.header('openstack-api-version', `${SERVICE} ${versionString(request.haVersion)}`);
  void reply.header('vary', 'OpenStack-API-Version');
}

/** Fails with 404 (as an unknown route would) below `min`. */
export function requireVersion(request: FastifyRequest, min: string): void {
  if (!atLeast(request, min)) throw new ApiFault(404, 'The resource could not be found.');
}
