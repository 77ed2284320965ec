// What one object's definition is, and a database's definitions kept packed: each object's kind,
// name, table and text as bytes in large buffers instead of an object and four strings, so that a schema of tens of thousands of tables
// costs a few megabytes, not hundreds. Read back one at a time, in order of kind and name.

export type DefinitionKind =
  | 'schema'
  | 'extension'
  | 'type'
  | 'table'
  | 'column'
  | 'index'
  | 'constraint'
  | 'view'
  | 'materialized view'
  | 'function'
  | 'trigger'
  | 'policy'
  | 'rule'
  | 'sequence'
  /** COMMENT ON an object: named "on table sales.orders", "on column sales.orders.total". */
  | 'comment'
  | 'large object'
  /** A large object's bytes (the data level only). */
  | 'large object data'

export interface Definition {
  kind: DefinitionKind
  /** Qualified and quoted as the server quotes it: sales.orders, sales.orders.total. */
  name: string
  /** The table the object belongs to, when it belongs to one. */
  table?: string
  text: string
}

/** Definitions are packed into buffers of this size (a larger one gets a buffer of its own). */
const CHUNK_BYTES = 1024 * 1024
/** A record's table index when it belongs to none. */
const NO_TABLE = 0xffffffff

export class DefinitionList implements Iterable<Definition> {
  // Private to the language, not only to TypeScript: a test's diff or a log of an inventory shows
  // the definitions (the list is iterable), never megabytes of buffers.
  /** Shared by lists that select from one another (see where). */
  readonly #store: PackedStore
  /** Where each record starts: chunk * CHUNK_BYTES + offset (a chunk of its own is one record). */
  #positions: Float64Array
  #count = 0

  constructor(store?: PackedStore, positions?: Float64Array) {
    this.#store = store ?? new PackedStore()
    this.#positions = positions ?? new Float64Array(1024)
    this.#count = positions?.length ?? 0
  }

  /** The definitions given (read one at a time, never gathered in an array), in order of kind and name. */
  static from(...parts: Array<Iterable<Definition>>): DefinitionList {
    const list = new DefinitionList()
    for (const definitions of parts) for (const definition of definitions) list.add(definition)
    list.sort()
    return list
  }

  get length(): number {
    return this.#count
  }

  /** Adds one; call sort() once all are added. */
  add(definition: Definition): void {
    if (this.#count === this.#positions.length) {
      const grown = new Float64Array(this.#positions.length * 2)
      grown.set(this.#positions)
      this.#positions = grown
    }
    this.#positions[this.#count++] = this.#store.append(definition)
  }

  /** In order of kind, then name (by code point, as the bytes compare). */
  sort(): void {
    const used = this.#positions.subarray(0, this.#count).slice()
    used.sort((a, b) => this.#store.compareKeys(a, this.#store, b))
    this.#positions = used
  }

  at(index: number): Definition {
    return this.#store.read(this.#positions[index])
  }

  /** The index-th definition without its text (see textBytesAt). */
  objectAt(index: number): Omit<Definition, 'text'> {
    return this.#store.read(this.#positions[index], false)
  }

  kindAt(index: number): DefinitionKind {
    return this.#store.kindOf(this.#positions[index])
  }

  /** Negative, zero or positive as this list's index-th key (kind, name) sorts before, with or after the other's. */
  compareKeyAt(index: number, other: DefinitionList, otherIndex: number): number {
    return this.#store.compareKeys(this.#positions[index], other.#store, other.#positions[otherIndex])
  }

  /** The index-th text as the bytes it is kept in (UTF-8): a view, not a copy. */
  textBytesAt(index: number): Buffer {
    return this.#store.textBytes(this.#positions[index])
  }

  /** The index-th text is the other's otherIndex-th, byte for byte (nothing decoded). */
  sameTextAt(index: number, other: DefinitionList, otherIndex: number): boolean {
    return this.textBytesAt(index).equals(other.textBytesAt(otherIndex))
  }

  /** The definitions of the kinds `keep` accepts, in the same order (the bytes are shared, not copied). */
  where(keep: (kind: DefinitionKind) => boolean): DefinitionList {
    const selected = new Float64Array(this.#count)
    let kept = 0
    for (let index = 0; index < this.#count; index++) if (keep(this.kindAt(index))) selected[kept++] = this.#positions[index]
    return new DefinitionList(this.#store, selected.slice(0, kept))
  }

  /** These definitions and the given ones, in order: this list's bytes are shared, the given ones added to the same store. */
  with(added: Iterable<Definition>): DefinitionList {
    const list = new DefinitionList(this.#store, this.#positions.slice(0, this.#count))
    for (const definition of added) list.add(definition)
    if (list.length > this.#count) list.sort()
    return list
  }

  *[Symbol.iterator](): Iterator<Definition> {
    for (let index = 0; index < this.#count; index++) yield this.at(index)
  }

  filter(accept: (definition: Definition) => boolean): Definition[] {
    const accepted: Definition[] = []
    for (const definition of this) if (accept(definition)) accepted.push(definition)
    return accepted
  }

  find(accept: (definition: Definition) => boolean): Definition | undefined {
    for (const definition of this) if (accept(definition)) return definition
    return undefined
  }

  map<T>(through: (definition: Definition) => T): T[] {
    return Array.from(this, through)
  }

  toJSON(): Definition[] {
    return [...this]
  }
}

/**
 * The bytes: per record, the kind's number (1 byte), the table's number (4 bytes, tables being
 * few and repeated by every column and index), then the name and the text, each a 4-byte length
 * and UTF-8.
 */
class PackedStore {
  private readonly chunks: Buffer[] = []
  private used = CHUNK_BYTES
  private readonly kinds = new Numbered<DefinitionKind>()
  private readonly tables = new Numbered<string>()

  append(definition: Definition): number {
    const name = Buffer.byteLength(definition.name)
    const text = Buffer.byteLength(definition.text)
    const size = 1 + 4 + 4 + name + 4 + text
    if (size > CHUNK_BYTES) {
      // A long function body: a buffer of its own, numbered like the others.
      this.chunks.push(Buffer.allocUnsafe(size))
      this.used = CHUNK_BYTES
      return this.write(this.chunks.length - 1, 0, definition, name, text)
    }
    if (this.used + size > CHUNK_BYTES) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK_BYTES))
      this.used = 0
    }
    const position = this.write(this.chunks.length - 1, this.used, definition, name, text)
    this.used += size
    return position
  }

  private write(chunkIndex: number, offset: number, definition: Definition, nameBytes: number, textBytes: number): number {
    const chunk = this.chunks[chunkIndex]
    let at = offset
    at = chunk.writeUInt8(this.kinds.numberOf(definition.kind), at)
    at = chunk.writeUInt32LE(definition.table === undefined ? NO_TABLE : this.tables.numberOf(definition.table), at)
    at = chunk.writeUInt32LE(nameBytes, at)
    at += chunk.write(definition.name, at, 'utf8')
    at = chunk.writeUInt32LE(textBytes, at)
    chunk.write(definition.text, at, 'utf8')
    return chunkIndex * CHUNK_BYTES + offset
  }

  kindOf(position: number): DefinitionKind {
    const { chunk, offset } = this.locate(position)
    return this.kinds.at(chunk[offset])
  }

  read(position: number, withText = true): Definition {
    const { chunk, offset } = this.locate(position)
    const kind = this.kinds.at(chunk[offset])
    const table = chunk.readUInt32LE(offset + 1)
    const nameBytes = chunk.readUInt32LE(offset + 5)
    const nameStart = offset + 9
    const name = chunk.toString('utf8', nameStart, nameStart + nameBytes)
    const textBytes = chunk.readUInt32LE(nameStart + nameBytes)
    const textStart = nameStart + nameBytes + 4
    const text = withText ? chunk.toString('utf8', textStart, textStart + textBytes) : ''
    return table === NO_TABLE ? { kind, name, text } : { kind, name, table: this.tables.at(table), text }
  }

  textBytes(position: number): Buffer {
    const { chunk, offset } = this.locate(position)
    const textLength = offset + 9 + chunk.readUInt32LE(offset + 5)
    const start = textLength + 4
    return chunk.subarray(start, start + chunk.readUInt32LE(textLength))
  }

  /** Kind by its name, then name, by their bytes: the same order whichever store each key is in. */
  compareKeys(position: number, other: PackedStore, otherPosition: number): number {
    const chunkA = Math.floor(position / CHUNK_BYTES)
    const chunkB = Math.floor(otherPosition / CHUNK_BYTES)
    const a = this.chunks[chunkA]
    const b = other.chunks[chunkB]
    const offsetA = position - chunkA * CHUNK_BYTES
    const offsetB = otherPosition - chunkB * CHUNK_BYTES
    const kindA = this.kinds.at(a[offsetA])
    const kindB = other.kinds.at(b[offsetB])
    if (kindA !== kindB) return kindA < kindB ? -1 : 1
    const nameA = offsetA + 9
    const nameB = offsetB + 9
    return a.compare(b, nameB, nameB + b.readUInt32LE(offsetB + 5), nameA, nameA + a.readUInt32LE(offsetA + 5))
  }

  private locate(position: number): { chunk: Buffer; offset: number } {
    const chunk = Math.floor(position / CHUNK_BYTES)
    return { chunk: this.chunks[chunk], offset: position - chunk * CHUNK_BYTES }
  }
}

/** Values that repeat (kinds, table names), each kept once and written as its number. */
class Numbered<T> {
  private readonly values: T[] = []
  private readonly numbers = new Map<T, number>()

  numberOf(value: T): number {
    let number = this.numbers.get(value)
    if (number === undefined) {
      number = this.values.push(value) - 1
      this.numbers.set(value, number)
    }
    return number
  }

  at(number: number): T {
    return this.values[number]
  }
}
