/**
 * A short-lived cache of the flavor and image lookups of server creation: every boot
 * needs both, and they change rarely. Entries live `ttlMs` (default 5 s); images are
 * cached per project, since visibility depends on it. Failed lookups are not cached.
 */
import { NotFoundError, type Db, type FlavorRow, type ImageRow } from '../../db/index.js';
import type { RequestContext } from '../../rpc/index.js';

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/** Flavor and image lookups with a time-to-live. */
export class CatalogueCache {
  private readonly flavors = new Map<string, Entry<FlavorRow>>();
  private readonly images = new Map<string, Entry<ImageRow>>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5000,
  ) {}

  /**
   * The flavor with this API id (FlavorNotFound as the db throws it); a private flavor not
   * shared with a non-admin caller's project is not found either, as in Nova.
   */
  async flavor(ctx: RequestContext, flavorId: string): Promise<FlavorRow> {
    const flavor = await this.cached(this.flavors, flavorId, () => this.db.flavors.getByFlavorId(ctx, flavorId));
    if (flavor.is_public || ctx.isAdmin) return flavor;
    const shared = await this.db.flavorExtras.projects(ctx, flavor.id);
    if (!shared.includes(ctx.projectId ?? '')) throw new NotFoundError('Flavor', flavorId);
    return flavor;
  }

  /** The image with this id, as the caller's project sees it. */
  image(ctx: RequestContext, imageId: string): Promise<ImageRow> {
    const key = `${ctx.isAdmin ? '*' : (ctx.projectId ?? '')}/${imageId}`;
    return this.cached(this.images, key, () => this.db.images.get(ctx, imageId));
  }

  private cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = map.get(key);
    if (entry && now - entry.at < this.ttlMs) return entry.value;
    if (map.size > 1000) map.clear();
    const value = load();
    map.set(key, { at: now, value });
    value.catch(() => map.delete(key));
    return value;
  }
}
