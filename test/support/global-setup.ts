import { startContainersIfNeeded } from './services.js';

/** Vitest global setup: containers when Docker is there, nothing otherwise. */
export default async function setup(): Promise<() => Promise<void>> {
  return startContainersIfNeeded();
}
