/**
 * Keeping a long bulk command (a million-row import or export) under a couple of hundred megabytes: V8 lets the heap
 * of a busy process grow far past what it holds alive (measured: a 300k-row import peaked at 220 MB RSS with 25 MB
 * live), and its heap limits cannot be changed once the process runs. So the bulk commands ask for a full collection
 * every so many rows, which costs a few percent of their time and keeps the peak near the live size.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Returns a function to call with the rows done so far; it collects garbage once per `everyRows`. */
export function createHeapRelief(everyRows: number): (rowsDone: number) => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  let next = everyRows;
  return (rowsDone) => {
    if (rowsDone < next) return;
    next = rowsDone + everyRows;
    collect?.();
  };
}
