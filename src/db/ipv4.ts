/**
 * IPv4 arithmetic for fixed-IP networks, as nova-manage network create did it: the
 * network address, the gateway (first host) and the broadcast address are not handed
 * out; every other address of the CIDR becomes a fixed_ips row.
 */

/** The addresses of one IPv4 network. */
export interface Ipv4Layout {
  cidr: string;
  netmask: string;
  gateway: string;
  broadcast: string;
  /** Addresses an instance can get, in order (gateway, network and broadcast left out). */
  assignable: string[];
}

/** Lays out `cidr` (e.g. "10.0.0.0/24"). Throws on anything that is not an IPv4 CIDR of /8 to /30. */
export function layoutIpv4Network(cidr: string): Ipv4Layout {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  const prefix = match ? Number(match[2]) : NaN;
  if (!match || !(prefix >= 8 && prefix <= 30)) throw new Error(`Not an IPv4 CIDR between /8 and /30: ${cidr}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipv4ToNumber(match[1]!) & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  const gateway = network + 1;
  const assignable: string[] = [];
  for (let address = gateway + 1; address < broadcast; address++) assignable.push(numberToIpv4(address));
  return {
    cidr: `${numberToIpv4(network)}/${prefix}`,
    netmask: numberToIpv4(mask),
    gateway: numberToIpv4(gateway),
    broadcast: numberToIpv4(broadcast),
    assignable,
  };
}

/** "10.0.0.2" as 167772162. */
export function ipv4ToNumber(address: string): number {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`Not an IPv4 address: ${address}`);
  }
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

/** 167772162 as "10.0.0.2". */
export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}
