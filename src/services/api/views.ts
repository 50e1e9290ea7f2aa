/**
 * JSON views of the Compute API v2.1: servers, flavors, images (services and hypervisors: admin-views.ts),
 * in the shapes python-novaclient reads.
 */
import { createHash } from 'node:crypto';
import type { FixedIpRow, FlavorRow, FloatingIpRow, ImageRow, InstanceFaultRow, InstanceRow, Metadata } from '../../db/index.js';
import { statusFromState } from '../states.js';
import { parseMicroversion, type Microversion } from './microversion.js';
import { microversionFields } from './server-fields.js';

const MIN_VERSION = parseMicroversion('2.1');

/** `2012-08-20T21:11:09Z`, as Nova formats times. */
export function isoTime(date: Date | null | undefined): string | null {
  return date ? `${date.toISOString().slice(0, 19)}Z` : null;
}

/** Self and bookmark links of a resource. */
export function links(base: string, collection: string, id: string | number): Array<{ rel: string; href: string }> {
  const bookmark = base.replace(/\/v2\.1$/, '');
  return [
    { rel: 'self', href: `${base}/${collection}/${id}` },
    { rel: 'bookmark', href: `${bookmark}/${collection}/${id}` },
  ];
}

/** `addresses`: addresses by network label, each fixed IP followed by its floating IPs. */
export function addressesView(ips: readonly FixedIpRow[], labels: ReadonlyMap<number, string>, floating: readonly FloatingIpRow[] = []): Record<string, unknown[]> {
  const addresses: Record<string, unknown[]> = {};
  for (const ip of ips) {
    const label = labels.get(ip.network_id) ?? 'private';
    const mac = macFor(ip.address);
    const list = (addresses[label] ??= []);
    list.push({ version: 4, addr: ip.address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': mac });
    for (const address of floating.filter((f) => f.fixed_ip_id === ip.id)) {
      list.push({ version: 4, addr: address.address, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': mac });
    }
  }
  return addresses;
}

/** Everything the full view of a server needs besides its row. */
export interface ServerDetails {
  metadata: Metadata;
  ips: readonly FixedIpRow[];
  floatingIps: readonly FloatingIpRow[];
  securityGroups: readonly string[];
  /** The extra specs of the server's flavor (shown in the embedded flavor from 2.47). */
  flavorExtraSpecs: Metadata;
  /** The server's tags (shown from 2.26). */
  tags: readonly string[];
  networkLabels: ReadonlyMap<number, string>;
  flavor: FlavorRow | undefined;
  fault: InstanceFaultRow | undefined;
  isAdmin: boolean;
}

/** The short view: id, name, links. */
export function serverSummary(instance: InstanceRow, base: string): Record<string, unknown> {
  return { id: instance.uuid, name: instance.display_name, links: links(base, 'servers', instance.uuid) };
}

/** The full view of GET /servers/{id} and /servers/detail. */
export function serverView(instance: InstanceRow, details: ServerDetails, base: string, mv: Microversion = MIN_VERSION): Record<string, unknown> {
  const status = statusFromState(instance.vm_state, instance.task_state);
  const view: Record<string, unknown> = {
    id: instance.uuid,
    name: instance.display_name,
    status,
    tenant_id: instance.project_id,
    user_id: instance.user_id,
    metadata: details.metadata,
    hostId: instance.host ? createHash('sha224').update(`${instance.project_id ?? ''}${instance.host}`).digest('hex') : '',
    image: instance.image_ref ? { id: instance.image_ref, links: links(base, 'images', instance.image_ref).slice(1) } : '',
    flavor: { id: details.flavor?.flavorid ?? String(instance.instance_type_id), links: links(base, 'flavors', details.flavor?.flavorid ?? String(instance.instance_type_id)).slice(1) },
    created: isoTime(instance.created_at),
    updated: isoTime(instance.updated_at ?? instance.created_at),
    addresses: addressesView(details.ips, details.networkLabels, details.floatingIps),
    accessIPv4: instance.access_ip_v4 ?? '',
    accessIPv6: instance.access_ip_v6 ?? '',
    links: links(base, 'servers', instance.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
    progress: status === 'ACTIVE' ? 100 : instance.progress,
    'OS-EXT-AZ:availability_zone': instance.availability_zone ?? 'nova',
    'OS-EXT-STS:vm_state': instance.vm_state,
    'OS-EXT-STS:task_state': instance.task_state,
    'OS-EXT-STS:power_state': instance.power_state,
    'OS-SRV-USG:launched_at': isoTime(instance.launched_at),
    'OS-SRV-USG:terminated_at': isoTime(instance.terminated_at),
    key_name: instance.key_name,
    security_groups: details.securityGroups.map((name) => ({ name })),
    config_drive: '',
    'os-extended-volumes:volumes_attached': [],
  };
  if (details.isAdmin) {
    view['OS-EXT-SRV-ATTR:host'] = instance.host;
    view['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.host;
    view['OS-EXT-SRV-ATTR:instance_name'] = `instance-${instance.id.toString(16).padStart(8, '0')}`;
  }
  if (details.fault && (status === 'ERROR' || status === 'DELETED')) {
    view.fault = { code: details.fault.code, message: details.fault.message, created: isoTime(details.fault.created_at) };
  }
  return Object.assign(view, microversionFields(instance, details, mv));
}

/** A flavor, short or detailed. */
export function flavorView(flavor: FlavorRow, base: string, detail: boolean): Record<string, unknown> {
  const summary = { id: flavor.flavorid, name: flavor.name, links: links(base, 'flavors', flavor.flavorid) };
  if (!detail) return summary;
  return {
    ...summary,
    ram: flavor.memory_mb,
    vcpus: flavor.vcpus,
    disk: flavor.root_gb,
    swap: flavor.swap === 0 ? '' : flavor.swap,
    rxtx_factor: flavor.rxtx_factor,
    'OS-FLV-EXT-DATA:ephemeral': flavor.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': flavor.disabled,
    'os-flavor-access:is_public': flavor.is_public,
  };
}

/** Glance's image statuses as the Compute API's image proxy shows them (Nova's images view). */
const IMAGE_STATUS: Record<string, string> = { queued: 'SAVING', saving: 'SAVING', active: 'ACTIVE', killed: 'ERROR', deleted: 'DELETED', pending_delete: 'DELETED' };

/** An image, short or detailed (nova's image proxy shape). */
export function imageView(image: ImageRow, metadata: Metadata | undefined, base: string, detail: boolean): Record<string, unknown> {
  const summary = { id: image.uuid, name: image.name, links: links(base, 'images', image.uuid) };
  if (!detail) return summary;
  return {
    ...summary,
    status: IMAGE_STATUS[image.status] ?? image.status.toUpperCase(),
    progress: image.status === 'active' ? 100 : image.status === 'saving' ? 50 : image.status === 'queued' ? 25 : 0,
    minDisk: image.min_disk,
    minRam: image.min_ram,
    created: isoTime(image.created_at),
    updated: isoTime(image.updated_at ?? image.created_at),
    metadata: metadata ?? {},
    'OS-EXT-IMG-SIZE:size': image.size,
  };
}

/** A stable fake MAC for an address (fa:16:3e:xx:xx:xx, like Neutron's). */
export function macFor(address: string): string {
  const digest = createHash('md5').update(address).digest();
  return ['fa', '16', '3e', ...[0, 1, 2].map((i) => digest[i]!.toString(16).padStart(2, '0'))].join(':');
}
