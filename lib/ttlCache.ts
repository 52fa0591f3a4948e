/** A small in-process cache whose entries expire after `ttlMs` (bounded to `max` entries). */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = await load();
    this.set(key, value);
    return value;
  }

  /** Whether a fresh entry is held. */
  has(key: string): boolean {
    const hit = this.entries.get(key);
    return !!hit && Date.now() - hit.at < this.ttlMs;
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, at: Date.now() });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
