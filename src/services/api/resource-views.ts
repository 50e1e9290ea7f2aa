/**
 * JSON views of the resources around servers: security groups and their rules, floating
 * IPs, interfaces and instance actions, in the shapes Nova's api-ref shows.
 */
import type { FixedIpRow, FloatingIpRow, InstanceActionEventRow, InstanceActionRow, NetworkRow, SecurityGroupRow, SecurityGroupRuleRow } from '../../db/index.js';
import { isAtLeast, type Microversion } from './microversion.js';
import { macFor } from './views.js';

/** A security group with its rules; `groups` resolves the source group of a rule. */
export function securityGroupView(group: SecurityGroupRow, rules: readonly SecurityGroupRuleRow[], groups: ReadonlyMap<number, SecurityGroupRow>): Record<string, unknown> {
  return {
    id: group.uuid,
    name: group.name,
    description: group.description,
    tenant_id: group.project_id,
    rules: rules.filter((rule) => rule.parent_group_id === group.id).map((rule) => securityGroupRuleView(rule, group, groups)),
  };
}

/** One rule: protocol, ports, and a CIDR (`ip_range`) or a source group (`group`). */
export function securityGroupRuleView(rule: SecurityGroupRuleRow, parent: SecurityGroupRow, groups: ReadonlyMap<number, SecurityGroupRow>): Record<string, unknown> {
  const source = rule.group_id === null ? undefined : groups.get(rule.group_id);
  return {
    id: rule.uuid,
    parent_group_id: parent.uuid,
    ip_protocol: rule.protocol,
    from_port: rule.from_port,
    to_port: rule.to_port,
    ip_range: rule.cidr ? { cidr: rule.cidr } : {},
    group: source ? { name: source.name, tenant_id: source.project_id } : {},
  };
}

/** A floating IP: its address, pool, and the fixed IP and server it is on. */
export function floatingIpView(row: FloatingIpRow, fixed: FixedIpRow | undefined): Record<string, unknown> {
  return { id: row.id, ip: row.address, pool: row.pool, fixed_ip: fixed?.address ?? null, instance_id: fixed?.instance_uuid ?? null };
}

/** An interface of a server (one fixed IP of a network). */
export function interfaceView(ip: FixedIpRow, network: NetworkRow | undefined): Record<string, unknown> {
  return {
    port_id: ip.port_id,
    net_id: network?.uuid ?? null,
    mac_addr: macFor(ip.address),
    port_state: 'ACTIVE',
    fixed_ips: [{ ip_address: ip.address, subnet_id: network?.uuid ?? null }],
  };
}

/** `2018-04-25T01:26:29.000000`, as instance actions show times. */
function actionTime(date: Date | null): string | null {
  return date ? `${date.toISOString().slice(0, 23)}000` : null;
}

/** An instance action (updated_at from 2.58). */
export function instanceActionView(row: InstanceActionRow, mv: Microversion): Record<string, unknown> {
  return {
    action: row.action,
    instance_uuid: row.instance_uuid,
    request_id: row.request_id,
    user_id: row.user_id,
    project_id: row.project_id,
    start_time: actionTime(row.start_time),
    message: row.message,
    ...(isAtLeast(mv, '2.58') ? { updated_at: actionTime(row.updated_at ?? row.start_time) } : {}),
  };
}

/** An event of an action (traceback for admins; host and hostId from 2.62; details from 2.84). */
export function instanceActionEventView(row: InstanceActionEventRow, mv: Microversion, isAdmin: boolean, hostId: (host: string) => string): Record<string, unknown> {
  const view: Record<string, unknown> = {
    event: row.event,
    start_time: actionTime(row.start_time),
    finish_time: actionTime(row.finish_time),
    result: row.result,
  };
  if (isAdmin) view.traceback = row.traceback;
  if (isAtLeast(mv, '2.62')) {
    if (isAdmin) view.host = row.host;
    view.hostId = row.host ? hostId(row.host) : '';
  }
  if (isAtLeast(mv, '2.84')) view.details = row.details;
  return view;
}
