/**
 * What a boot request names besides image and flavor: the key pair (the user's, by
 * name; its public key is recorded on the server) and the security groups (the
 * project's, by name or id; `default` when none is named). Unknown ones are a 400, as
 * Nova answers.
 */
import { isDbError, type Db, type SecurityGroupRow } from '../../db/index.js';
import type { RequestContext } from '../../rpc/index.js';
import { elevated } from '../context.js';
import { badRequest } from './faults.js';

/** The key pair a server boots with. */
export interface BootKey {
  key_name: string | null;
  key_data: string | null;
}

/** The key pair `name` of the caller; 400 when it has none of that name. */
export async function resolveBootKey(db: Db, ctx: RequestContext, name: string | null | undefined): Promise<BootKey> {
  if (!name) return { key_name: null, key_data: null };
  try {
    const key = await db.keyPairs.get(ctx, ctx.userId ?? '', name);
    return { key_name: key.name, key_data: key.public_key };
  } catch (error) {
    if (isDbError(error, 'KeyPairNotFound')) throw badRequest('Invalid key_name provided.');
    throw error;
  }
}

/** The project's groups a boot asks for (by name or id); `default` when none. */
export async function resolveBootSecurityGroups(
  db: Db,
  ctx: RequestContext,
  requested: ReadonlyArray<{ name: string }> | undefined,
): Promise<SecurityGroupRow[]> {
  const project = ctx.projectId ?? '';
  if (!requested || requested.length === 0) return [await db.securityGroups.ensureDefault(elevated(ctx), project)];
  const groups = new Map<number, SecurityGroupRow>();
  for (const { name } of requested) {
    if (name === 'default') await db.securityGroups.ensureDefault(elevated(ctx), project);
    try {
      const group = await db.securityGroups.getByNameOrId(ctx, project, name);
      groups.set(group.id, group);
    } catch (error) {
      if (isDbError(error, 'SecurityGroupNotFound')) throw badRequest(`Unable to find security_group with name or id '${name}'`);
      throw error;
    }
  }
  return [...groups.values()];
}
