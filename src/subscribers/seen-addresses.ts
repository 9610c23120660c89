/**
 * The addresses an import has already read, to reject a repeated one, in memory that does not grow with the
 * addresses' length: a 64-bit hash of each, in an open-addressing table of two `Uint32Array`s (16 bytes a slot, at
 * most half full). A million addresses take about 32 MB, where a `Set` of the strings takes three times that. Two
 * different addresses share a hash with a chance of about 1 in 10^8 for a million rows.
 */

/** A set of addresses (already normalised) that only answers "seen before?". */
export interface SeenAddresses {
  /** Adds the address; false when it was there already. */
  add(address: string): boolean;
  readonly size: number;
}

/** Two 32-bit lanes of a multiplicative string hash (cyrb53's mixing, kept to 64 bits). */
function hash64(text: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  // 0/0 marks an empty slot, so no address may hash to it.
  return [h1 >>> 0 || 1, h2 >>> 0];
}

/** Creates an empty set that grows as needed. */
export function createSeenAddresses(initialSlots = 1 << 16): SeenAddresses {
  let high = new Uint32Array(initialSlots);
  let low = new Uint32Array(initialSlots);
  let size = 0;

  const insert = (h1: number, h2: number): boolean => {
    const mask = high.length - 1;
    for (let slot = (h1 ^ h2) & mask; ; slot = (slot + 1) & mask) {
      if (high[slot] === 0) {
        high[slot] = h1;
        low[slot] = h2;
        return true;
      }
      if (high[slot] === h1 && low[slot] === h2) return false;
    }
  };
  const grow = () => {
    const [oldHigh, oldLow] = [high, low];
    high = new Uint32Array(oldHigh.length * 2);
    low = new Uint32Array(oldLow.length * 2);
    for (let slot = 0; slot < oldHigh.length; slot += 1) {
      if (oldHigh[slot] !== 0) insert(oldHigh[slot] as number, oldLow[slot] as number);
    }
  };

  return {
    add(address) {
      if ((size + 1) * 2 > high.length) grow();
      const [h1, h2] = hash64(address);
      const isNew = insert(h1, h2);
      if (isNew) size += 1;
      return isNew;
    },
    get size() {
      return size;
    },
  };
}
