/**
 * Parses oslo-style transport URLs:
 * `rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost?opt=value`, `rabbits://` for TLS,
 * `kombu://` as an alias, and `memory://` for the in-process bus. Errors name the bad
 * part and never echo a password.
 */
import { redactUrlPasswords } from '../log/logger.js';
import { InvalidTransportUrl } from './errors.js';

/** One broker of the failover list. */
export interface BrokerHost {
  hostname: string;
  port: number;
  username: string;
  password: string;
}

/** A parsed transport URL. */
export interface ParsedTransportUrl {
  scheme: 'rabbit' | 'memory';
  tls: boolean;
  hosts: BrokerHost[];
  virtualHost: string;
  /** Query options as strings (repeated keys joined with commas, as oslo does). */
  query: Record<string, string>;
}

const DEFAULT_HOST: BrokerHost = { hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' };

/** Parses a transport URL; throws InvalidTransportUrl naming what is wrong. */
export function parseTransportUrl(url: string): ParsedTransportUrl {
  if (typeof url !== 'string' || url.trim() === '') throw new InvalidTransportUrl('transport URL is empty');
  const shown = redactUrlPasswords(url);
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url.trim());
  if (!schemeMatch) throw new InvalidTransportUrl(`transport URL "${shown}" has no scheme (expected rabbit://, rabbits:// or memory://)`);
  const scheme = schemeMatch[1]!.toLowerCase();
  const rest = schemeMatch[2]!;
  const { authority, path, queryText } = splitRest(rest);
  const query = parseQuery(queryText, shown);
  if (scheme === 'memory') return { scheme: 'memory', tls: false, hosts: [], virtualHost: '/', query };
  if (!['rabbit', 'rabbits', 'kombu', 'amqps+rabbit'].includes(scheme)) {
    const hint = scheme === 'amqp' ? ' (amqp:// selects the AMQP 1.0 driver in oslo; use rabbit:// for RabbitMQ)' : '';
    throw new InvalidTransportUrl(`unsupported transport scheme "${scheme}" in "${shown}"${hint}`);
  }
  const hosts = authority === '' ? [{ ...DEFAULT_HOST }] : authority.split(',').map((part) => parseHost(part, shown));
  return {
    scheme: 'rabbit',
    tls: scheme === 'rabbits',
    hosts,
    virtualHost: path === '' ? '/' : decode(path, 'virtual host', shown),
    query,
  };
}

function splitRest(rest: string): { authority: string; path: string; queryText: string } {
  const queryStart = rest.indexOf('?');
  const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const queryText = queryStart === -1 ? '' : rest.slice(queryStart + 1);
  const slash = beforeQuery.indexOf('/');
  return {
    authority: slash === -1 ? beforeQuery : beforeQuery.slice(0, slash),
    path: slash === -1 ? '' : beforeQuery.slice(slash + 1),
    queryText,
  };
}

function parseHost(part: string, shown: string): BrokerHost {
  if (part === '') throw new InvalidTransportUrl(`empty host in the host list of "${shown}"`);
  const at = part.lastIndexOf('@');
  const credentials = at === -1 ? '' : part.slice(0, at);
  const hostPort = at === -1 ? part : part.slice(at + 1);
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d*))?$/.exec(hostPort);
  if (!match) throw new InvalidTransportUrl(`host "${hostPort}" in "${shown}" is not host[:port] (IPv6 goes in [brackets])`);
  const port = match[2] ? Number(match[2]) : 5672;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidTransportUrl(`port "${match[2]}" of host "${match[1]}" in "${shown}" is not between 1 and 65535`);
  }
  const colon = credentials.indexOf(':');
  const username = credentials === '' ? DEFAULT_HOST.username : decode(colon === -1 ? credentials : credentials.slice(0, colon), 'user name', shown);
  const password = credentials === '' ? DEFAULT_HOST.password : colon === -1 ? '' : decode(credentials.slice(colon + 1), 'password', shown);
  return { hostname: match[1]!.replace(/^\[|\]$/g, ''), port, username, password };
}

function parseQuery(queryText: string, shown: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (queryText === '') return query;
  for (const pair of queryText.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq), 'option name', shown);
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1).replaceAll('+', ' '), `value of option ${key}`, shown);
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  return query;
}

function decode(text: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidTransportUrl(`the ${what} in "${shown}" has a bad percent-escape`);
  }
}

/** `rabbit://user:***@host:port/vhost`, for logs and error messages. */
export function describeBroker(host: BrokerHost, virtualHost: string): string {
  const vhost = virtualHost === '/' ? '' : encodeURIComponent(virtualHost);
  const hostname = host.hostname.includes(':') ? `[${host.hostname}]` : host.hostname;
  return `rabbit://${host.username}:***@${hostname}:${host.port}/${vhost}`;
}
