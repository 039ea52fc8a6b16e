import type { EventFormat } from './types.ts';

/** All event formats of one trace (or one kernel), looked up by id or by name. */
export class EventSchema {
  private readonly ids: (EventFormat | undefined)[] = [];
  private readonly names = new Map<string, EventFormat>();

  /**
   * @param formats every event format of the trace (ids must be distinct; a later duplicate id replaces the earlier)
   * @param longSize the traced kernel's `long` size (8 on 64-bit kernels, 4 on 32-bit ones)
   * @param littleEndian byte order of the traced machine
   */
  constructor(
    readonly formats: readonly EventFormat[],
    readonly longSize: 4 | 8,
    readonly littleEndian: boolean,
  ) {
    for (const f of formats) {
      if (Number.isInteger(f.id) && f.id >= 0 && f.id < 1 << 16) this.ids[f.id] = f;
      this.names.set(`${f.system}:${f.name}`, f);
      if (!this.names.has(f.name)) this.names.set(f.name, f);
    }
  }

  /** The format of `common_type` `id`, or undefined. */
  byId(id: number): EventFormat | undefined {
    return this.ids[id];
  }

  /** The format named `system:name` (or just `name`, the first system that has it), or undefined. */
  find(name: string): EventFormat | undefined {
    return this.names.get(name);
  }
}
