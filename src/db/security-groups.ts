/**
 * Security groups (Nova's `security_group_*`): named rule sets per project, each project
 * with a `default` group made on first use, rules allowing a protocol and port range from
 * a CIDR or from members of another group, and the groups each server belongs to.
 */
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { InvalidRequestError, NotFoundError } from './errors.js';
import { modelQuery, softDeleteChanges, type ScopeOptions, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `security_groups`. */
export interface SecurityGroupRow {
  id: number;
  uuid: string;
  name: string;
  description: string;
  project_id: string;
  user_id: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** A row of `security_group_rules`. */
export interface SecurityGroupRuleRow {
  id: number;
  uuid: string;
  parent_group_id: number;
  protocol: string | null;
  from_port: number | null;
  to_port: number | null;
  cidr: string | null;
  group_id: number | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What a new rule needs (either `cidr` or `group_id`). */
export type NewSecurityGroupRule = Pick<SecurityGroupRuleRow, 'parent_group_id' | 'protocol' | 'from_port' | 'to_port' | 'cidr' | 'group_id'>;

/** The name every project's first group has. */
export const DEFAULT_SECURITY_GROUP = 'default';

const SCOPE: ScopeOptions = { projectColumn: 'project_id' };
const readGroup = rowReader<SecurityGroupRow>({});
const readRule = rowReader<SecurityGroupRuleRow>({});

/** The project's `default` group, created (with no rules) when it does not exist yet. */
export async function ensureDefaultSecurityGroup(session: DbSession, ctx: DbContext, projectId: string): Promise<SecurityGroupRow> {
  const existing = await findByName(session, ctx, projectId, DEFAULT_SECURITY_GROUP);
  if (existing) return existing;
  try {
    return await createSecurityGroup(session, ctx, { name: DEFAULT_SECURITY_GROUP, description: 'default', project_id: projectId, user_id: ctx.userId ?? null });
  } catch (error) {
    // Two first requests of a project raced; the other one made it.
    const made = await findByName(session, ctx, projectId, DEFAULT_SECURITY_GROUP);
    if (made) return made;
    throw error;
  }
}

/** Creates a group; DuplicateEntry when the project has one of that name. */
export async function createSecurityGroup(
  session: DbSession,
  _ctx: DbContext,
  values: Pick<SecurityGroupRow, 'name' | 'description' | 'project_id' | 'user_id'>,
): Promise<SecurityGroupRow> {
  const row = { ...values, uuid: randomUUID(), created_at: utcNow(), updated_at: null, deleted_at: null, deleted: 0 };
  const [id] = await table(session, 'security_groups').insert(row);
  return readGroup({ ...row, id: Number(id) });
}

/** The group with this uuid (or numeric id) the context may see; SecurityGroupNotFound otherwise. */
export async function getSecurityGroup(session: DbSession, ctx: DbContext, id: string | number): Promise<SecurityGroupRow> {
  const query = modelQuery(session, ctx, 'security_groups', SCOPE);
  if (typeof id === 'number') query.where('id', id);
  else query.where('uuid', id);
  return firstOrNotFound(query, readGroup, () => new NotFoundError('SecurityGroup', id, `Security group ${id} not found.`));
}

/** The group of `projectId` named `name`, or by uuid when `name` is one (as openstackclient sends it). */
export async function getSecurityGroupByNameOrId(session: DbSession, ctx: DbContext, projectId: string, name: string): Promise<SecurityGroupRow> {
  const byName = await findByName(session, ctx, projectId, name);
  if (byName) return byName;
  return firstOrNotFound(modelQuery(session, ctx, 'security_groups', SCOPE).where({ uuid: name, project_id: projectId }), readGroup, () => new NotFoundError('SecurityGroup', name, `Security group ${name} not found for project ${projectId}.`));
}

/** The groups of a project (every project's for an admin without `projectId`), oldest first. */
export async function listSecurityGroups(session: DbSession, ctx: DbContext, projectId?: string): Promise<SecurityGroupRow[]> {
  const query = modelQuery(session, ctx, 'security_groups', SCOPE).orderBy('id');
  if (projectId !== undefined) query.where('project_id', projectId);
  const rows: unknown[] = await query;
  return rows.map(readGroup);
}

/** Updates a group's name and description. */
export async function updateSecurityGroup(
  session: DbSession,
  ctx: DbContext,
  uuid: string,
  changes: Partial<Pick<SecurityGroupRow, 'name' | 'description'>>,
): Promise<SecurityGroupRow> {
  const group = await getSecurityGroup(session, ctx, uuid);
  await table(session, 'security_groups').where('id', group.id).update({ ...changes, updated_at: utcNow() });
  return { ...group, ...changes };
}

/** Deletes a group with its rules; Conflict while a server uses it or when it is `default`. */
export async function deleteSecurityGroup(session: DbSession, ctx: DbContext, uuid: string): Promise<void> {
  await withTransaction(session, async (tx) => {
    const group = await getSecurityGroup(tx, ctx, uuid);
    if (group.name === DEFAULT_SECURITY_GROUP) throw new InvalidRequestError("Unable to delete system group 'default'");
    const inUse: unknown = await modelQuery(tx, ctx, 'security_group_instance_association')
      .join('instances', 'instances.uuid', 'security_group_instance_association.instance_uuid')
      .where({ 'security_group_instance_association.security_group_id': group.id, 'instances.deleted': 0 })
      .first('security_group_instance_association.id');
    if (inUse) throw new InvalidRequestError('Security group is still in use');
    const now = utcNow();
    await table(tx, 'security_group_rules').where({ parent_group_id: group.id, deleted: 0 }).update(softDeleteChanges(tx, now));
    await table(tx, 'security_groups').where('id', group.id).update(softDeleteChanges(tx, now));
  });
}

/** The rules of the groups with these ids, oldest first. */
export async function listSecurityGroupRules(session: DbSession, ctx: DbContext, groupIds: readonly number[]): Promise<SecurityGroupRuleRow[]> {
  if (groupIds.length === 0) return [];
  const rows: unknown[] = await modelQuery(session, ctx, 'security_group_rules').whereIn('parent_group_id', groupIds).orderBy('id');
  return rows.map(readRule);
}

/** Adds a rule to a group. */
export async function createSecurityGroupRule(session: DbSession, _ctx: DbContext, values: NewSecurityGroupRule): Promise<SecurityGroupRuleRow> {
  const row = { ...values, uuid: randomUUID(), created_at: utcNow(), updated_at: null, deleted_at: null, deleted: 0 };
  const [id] = await table(session, 'security_group_rules').insert(row);
  return readRule({ ...row, id: Number(id) });
}

/** The rule with this uuid whose group the context may see; SecurityGroupRuleNotFound otherwise. */
export async function getSecurityGroupRule(session: DbSession, ctx: DbContext, uuid: string): Promise<SecurityGroupRuleRow> {
  const row: unknown = await modelQuery(session, ctx, 'security_group_rules').where('uuid', uuid).first();
  if (!row) throw new NotFoundError('SecurityGroupRule', uuid, `Rule (${uuid}) not found.`);
  const rule = readRule(row);
  await getSecurityGroup(session, ctx, rule.parent_group_id);
  return rule;
}

/** Deletes a rule. */
export async function deleteSecurityGroupRule(session: DbSession, ctx: DbContext, uuid: string): Promise<void> {
  const rule = await getSecurityGroupRule(session, ctx, uuid);
  await table(session, 'security_group_rules').where('id', rule.id).update(softDeleteChanges(session, utcNow()));
}

/** The groups a server belongs to, in the order they were added. */
export async function listInstanceSecurityGroups(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<SecurityGroupRow[]> {
  const rows: unknown[] = await modelQuery(session, ctx, 'security_group_instance_association')
    .join('security_groups', 'security_groups.id', 'security_group_instance_association.security_group_id')
    .where('security_group_instance_association.instance_uuid', instanceUuid)
    .where('security_groups.deleted', 0)
    .orderBy('security_group_instance_association.id')
    .select('security_groups.*');
  return rows.map(readGroup);
}

/** Puts a server in a group; Conflict when it already is. */
export async function addInstanceSecurityGroup(session: DbSession, ctx: DbContext, instanceUuid: string, groupId: number): Promise<void> {
  const existing: unknown = await modelQuery(session, ctx, 'security_group_instance_association').where({ instance_uuid: instanceUuid, security_group_id: groupId }).first('id');
  if (existing) throw new InvalidRequestError(`Security group ${groupId} is already associated with the instance ${instanceUuid}`);
  await table(session, 'security_group_instance_association').insert({ instance_uuid: instanceUuid, security_group_id: groupId, created_at: utcNow(), deleted: 0 });
}

/** Takes a server out of a group; Conflict when it is not in it. */
export async function removeInstanceSecurityGroup(session: DbSession, ctx: DbContext, instanceUuid: string, groupId: number): Promise<void> {
  const changed = await modelQuery(session, ctx, 'security_group_instance_association')
    .where({ instance_uuid: instanceUuid, security_group_id: groupId })
    .update(softDeleteChanges(session, utcNow()));
  if (changed === 0) throw new InvalidRequestError(`Security group ${groupId} is not associated with the instance ${instanceUuid}`);
}

async function findByName(session: DbSession, ctx: DbContext, projectId: string, name: string): Promise<SecurityGroupRow | undefined> {
  const row: unknown = await modelQuery(session, ctx, 'security_groups', SCOPE).where({ project_id: projectId, name }).first();
  return row ? readGroup(row) : undefined;
}

/** The security group db functions, to bind on a Db. */
export const securityGroupFunctions = {
  ensureDefault: ensureDefaultSecurityGroup,
  create: createSecurityGroup,
  get: getSecurityGroup,
  getByNameOrId: getSecurityGroupByNameOrId,
  list: listSecurityGroups,
  update: updateSecurityGroup,
  delete: deleteSecurityGroup,
  listRules: listSecurityGroupRules,
  createRule: createSecurityGroupRule,
  getRule: getSecurityGroupRule,
  deleteRule: deleteSecurityGroupRule,
  listForInstance: listInstanceSecurityGroups,
  addToInstance: addInstanceSecurityGroup,
  removeFromInstance: removeInstanceSecurityGroup,
};
