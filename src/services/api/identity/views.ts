/**
 * JSON of the built-in Identity endpoint, in Keystone's shapes: version documents, v3
 * token bodies, v2.0 `access` bodies and the service catalog they carry.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { IdentityTokenRow } from '../../../db/index.js';
import { rolesOf } from './tokens.js';

/** The one domain, as Keystone names its default one. */
export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const;
const REGION = 'RegionOne';

/** `[api] public_endpoint`, or the scheme and host the request came to. */
export function publicBase(request: FastifyRequest, publicEndpoint: string): string {
  return (publicEndpoint || `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

/** One catalog service: its type, name and URL. */
export interface CatalogService {
  type: string;
  name: string;
  url: string;
}

/** Services on other ports the catalog lists too (e.g. instance-ha), given the request's base. */
export type ExtraCatalog = (base: string) => CatalogService[];

/** compute → /v2.1, image → /image, identity → /identity/v3, then the extra services. */
export function catalogServices(base: string, extra?: ExtraCatalog): CatalogService[] {
  return [
    { type: 'compute', name: 'nova', url: `${base}/v2.1` },
    { type: 'image', name: 'glance', url: `${base}/image` },
    { type: 'identity', name: 'keystone', url: `${base}/identity/v3` },
    ...(extra?.(base) ?? []),
  ];
}

/** The GET /identity version list (300). */
export function identityVersions(base: string): Record<string, unknown> {
  return { versions: { values: [identityV3Version(base), identityV2Version(base)] } };
}

/** The GET /identity/v3 document. */
export function identityV3Version(base: string): Record<string, unknown> {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${base}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

/** The GET /identity/v2.0 document. */
export function identityV2Version(base: string): Record<string, unknown> {
  return {
    id: 'v2.0',
    status: 'deprecated',
    updated: '2016-08-04T00:00:00Z',
    links: [{ rel: 'self', href: `${base}/identity/v2.0/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v2.0+json' }],
  };
}

/** A v3 project (ids are names here, all in the default domain). */
export function v3Project(name: string, base: string): Record<string, unknown> {
  return {
    id: name,
    name,
    domain_id: DEFAULT_DOMAIN.id,
    parent_id: DEFAULT_DOMAIN.id,
    enabled: true,
    is_domain: false,
    description: '',
    tags: [],
    links: { self: `${base}/identity/v3/projects/${encodeURIComponent(name)}` },
  };
}

/** The v3 `token` body of a token row. */
export function v3TokenBody(row: IdentityTokenRow, base: string, extra?: ExtraCatalog): Record<string, unknown> {
  return {
    token: {
      methods: row.methods.split(','),
      user: { id: row.user_name, name: row.user_name, domain: DEFAULT_DOMAIN, password_expires_at: null },
      audit_ids: [row.audit_id],
      expires_at: keystoneTime(row.expires_at),
      issued_at: keystoneTime(row.issued_at),
      project: { id: row.project_name, name: row.project_name, domain: DEFAULT_DOMAIN },
      is_domain: false,
      roles: rolesOf(row.is_admin).map((name) => ({ id: stableId(`role:${name}`), name })),
      catalog: catalogServices(base, extra).map((service) => ({
        type: service.type,
        name: service.name,
        id: stableId(`service:${service.type}`),
        endpoints: ['public', 'internal', 'admin'].map((iface) => ({
          id: stableId(`endpoint:${service.type}:${iface}`),
          interface: iface,
          region: REGION,
          region_id: REGION,
          url: service.url,
        })),
      })),
    },
  };
}

/** The v2.0 `access` body of a token. */
export function v2AccessBody(token: string, row: IdentityTokenRow, base: string, extra?: ExtraCatalog): Record<string, unknown> {
  const roles = rolesOf(row.is_admin).map((name) => ({ name }));
  return {
    access: {
      token: {
        id: token,
        issued_at: keystoneTime(row.issued_at),
        expires: isoSeconds(row.expires_at),
        tenant: { id: row.project_name, name: row.project_name, enabled: true, description: null },
        audit_ids: [row.audit_id],
      },
      serviceCatalog: catalogServices(base, extra).map((service) => ({
        type: service.type,
        name: service.name,
        endpoints: [{ id: stableId(`endpoint:${service.type}:public`), region: REGION, publicURL: service.url, internalURL: service.url, adminURL: service.url }],
        endpoints_links: [],
      })),
      user: { id: row.user_name, name: row.user_name, username: row.user_name, roles, roles_links: [] },
      metadata: { is_admin: row.is_admin ? 1 : 0, roles: roles.map((role) => stableId(`role:${role.name}`)) },
    },
  };
}

/** `2026-01-02T03:04:05.000000Z`, as Keystone formats token times. */
function keystoneTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** A fixed 32-hex id for a catalog or role name. */
function stableId(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}
