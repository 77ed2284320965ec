// The dump's own bytes as the reference the restore is held to: the source's inventory completed
// with the dump's fingerprints (a new backup), or the backup's content alone (an existing backup
// without a receipt of its own).

import type { DumpContent } from '../backup/dump-content.js'
import { decodeDumpText } from '../backup/dump-text.js'
import { DefinitionList } from './definition-list.js'
import type { Inventory, TableContent } from './inventory.js'

/**
 * The source's inventory, read in the dumped snapshot (its row counts), with each dumped table's
 * fingerprint taken from the dump's rows and each large object's bytes from the dump's lowrite
 * calls. Tables the source fingerprinted in SQL keep that fingerprint.
 */
export function withDumpContent(source: Inventory, dump: DumpContent, names: Map<string, string>): Inventory {
  const byName = new Map(source.content.map((entry) => [entry.table, entry]))
  const content = source.content.map((entry) => ({ ...entry }))
  const entries = new Map(content.map((entry) => [entry.table, entry]))
  for (const table of dump.tables) {
    const name = names.get(table.copy.readBack)
    const entry = name === undefined ? undefined : entries.get(name)
    if (!entry || byName.get(entry.table)?.fingerprint?.startsWith('sql:')) continue
    entry.fingerprint = table.fingerprint
    entry.copyTarget = decodeDumpText(table.copy.table, dump.clientEncoding)
  }
  const largeObjects = dump.largeObjects.map((object) => ({ kind: 'large object data' as const, name: object.oid, text: object.md5 }))
  return {
    ...source,
    content,
    // The source's definitions are not copied: a list of tens of thousands is megabytes.
    definitions: source.definitions.where((kind) => kind !== 'large object data').with(largeObjects)
  }
}

/**
 * An existing backup's content as the reference: every table it holds rows for, with its rows (and
 * those CREATE EXTENSION made, in an extension's configuration table) and fingerprint, named as the restore names it; a table it holds rows for that the restore lacks is
 * listed under the name the dump gives it, so that it shows as missing. Tables it holds no COPY
 * data for make no claim. Definitions are not compared: there is no source to compare them with.
 */
export function dumpInventory(dump: DumpContent, names: Map<string, string>, restored: Inventory): Inventory {
  const content: TableContent[] = []
  const unmapped: string[] = []
  // An extension's configuration table holds the rows the dump holds and those CREATE EXTENSION made.
  const madeByExtension = new Map(restored.content.map((entry) => [entry.table, entry.extensionRows ?? 0]))
  for (const table of dump.tables) {
    const decoded = decodeDumpText(table.copy.table, dump.clientEncoding)
    const name = names.get(table.copy.readBack)
    if (name === undefined) unmapped.push(decoded)
    const rows = table.rows + (name === undefined ? 0 : (madeByExtension.get(name) ?? 0))
    content.push({ table: name ?? decoded, rows, fingerprint: table.fingerprint, copyTarget: decoded })
  }
  return {
    level: 'data',
    serverVersionNumber: restored.serverVersionNumber,
    tables: [...restored.tables, ...unmapped.filter((name) => !restored.tables.includes(name))],
    objects: restored.objects,
    content,
    sequences: [],
    definitions: DefinitionList.from(
      dump.largeObjects.map((object) => ({ kind: 'large object data' as const, name: object.oid, text: object.md5 }))
    )
  }
}
