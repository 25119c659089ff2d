// Types for the parts of fast-bitfield (mafintosh, MIT) the benchmark uses.
declare module 'fast-bitfield' {
  export interface BitIterator {
    seek(index: number): BitIterator;
    next(bit: boolean): number;
  }
  export interface Bitfield {
    set(index: number, bit: boolean): boolean;
    get(index: number): boolean;
    fill(bit: boolean, start?: number, end?: number): void;
    iterator(): BitIterator;
  }
  export default function bitfield(): Bitfield;
}
