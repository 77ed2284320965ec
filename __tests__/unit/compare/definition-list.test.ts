// Definitions kept packed (DefinitionList) and compared side by side (compareDefinitions): what a
// user sees as "definitions differ" must not depend on how they are kept.

import { describe, expect, test } from '@jest/globals'
import { DefinitionList } from '../../../src/compare/definition-list.js'
import { compareDefinitions, definitionHash, type Definition } from '../../../src/compare/definitions.js'

const column = (name: string, text: string): Definition => ({ kind: 'column', name: `public.t.${name}`, table: 'public.t', text })

describe('a packed list of definitions', () => {
  test('reads back every definition as given: names in any script, empty and very long texts, with and without a table', () => {
    const body = `CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$ SELECT '${'x'.repeat(3 * 1024 * 1024)}' $$`
    const given: Definition[] = [
      { kind: 'schema', name: 'public', text: 'schema' },
      column('"Grüße ✓"', 'text not null'),
      column('"emoji 🐘"', ''),
      { kind: 'function', name: 'public.f()', text: body },
      { kind: 'index', name: 'public."naïve_idx"', table: 'public.t', text: 'CREATE INDEX "naïve_idx" ON public.t USING btree (a)' }
    ]
    const list = DefinitionList.from(given)
    expect(list).toHaveLength(given.length)
    expect([...list]).toEqual(
      [...given].sort((a, b) => (a.kind === b.kind ? Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) : a.kind < b.kind ? -1 : 1))
    )
    expect(list.find((definition) => definition.kind === 'function')?.text).toBe(body)
    expect(JSON.parse(JSON.stringify({ definitions: list })).definitions).toEqual([...list])
  })

  test('thousands of definitions over several buffers come back sorted by kind, then name', () => {
    const given: Definition[] = []
    for (let i = 30000; i > 0; i--) given.push(column(`c${String(i).padStart(5, '0')}`, `integer default ${i} ${'y'.repeat(i % 50)}`))
    given.push({ kind: 'table', name: 'public.t', table: 'public.t', text: 'table' })
    const list = DefinitionList.from(given)
    const names = list.map((definition) => `${definition.kind} ${definition.name}`)
    expect(names[0]).toBe('column public.t.c00001')
    expect(names[29999]).toBe('column public.t.c30000')
    expect(names[30000]).toBe('table public.t')
    expect(list.at(12344)).toEqual(column('c12345', `integer default 12345 ${'y'.repeat(12345 % 50)}`))
  })

  test('where() selects kinds without copying, in the same order', () => {
    const list = DefinitionList.from([
      { kind: 'large object data', name: '16401', text: 'md5 0' },
      column('a', 'integer'),
      { kind: 'large object', name: '16401', text: '3 bytes' }
    ])
    expect(list.where((kind) => kind !== 'large object data').map((definition) => definition.kind)).toEqual(['column', 'large object'])
  })

  test('with() adds definitions in order and leaves the list it shares its bytes with as it was', () => {
    const list = DefinitionList.from([column('b', 'text'), { kind: 'large object data', name: '16401', text: 'md5 0' }])
    const source = list.where((kind) => kind !== 'large object data')
    const added = source.with([{ kind: 'large object data', name: '16402', text: 'md5 1' }, column('a', 'integer')])
    expect(added.map((definition) => `${definition.kind} ${definition.name} ${definition.text}`)).toEqual([
      'column public.t.a integer',
      'column public.t.b text',
      'large object data 16402 md5 1'
    ])
    expect(source.map((definition) => definition.name)).toEqual(['public.t.b'])
    expect(list.map((definition) => definition.name)).toEqual(['public.t.b', '16401'])
    expect(source.with([]).map((definition) => definition.name)).toEqual(['public.t.b'])
  })
})

describe('definitions compared side by side', () => {
  const source = DefinitionList.from([
    column('a', 'integer not null'),
    column('b', 'text'),
    column('gone', 'text'),
    { kind: 'index', name: 'public.i', table: 'public.t', text: 'CREATE INDEX i ON public.t USING btree (a)' }
  ])
  const restored = DefinitionList.from([
    column('a', 'integer not null'),
    column('b', 'text collate "C"'),
    column('new', 'text'),
    { kind: 'index', name: 'public.i', table: 'public.t', text: 'CREATE INDEX i ON public.t USING btree (a)' }
  ])

  test('by text: a different definition, one gone and one added, each named, the source side first', () => {
    expect(compareDefinitions(source, restored, { hashed: false, byName: false })).toEqual([
      { kind: 'column', name: 'public.t.b', table: 'public.t', source: 'text', restored: 'text collate "C"' },
      { kind: 'column', name: 'public.t.gone', table: 'public.t', source: 'text' },
      { kind: 'column', name: 'public.t.new', table: 'public.t', restored: 'text' }
    ])
  })

  test('by hash (a receipt): the same differences; by name: only what is gone or added', () => {
    const receipt = DefinitionList.from([...source].map((definition) => ({ ...definition, text: definitionHash(definition.text) })))
    expect(compareDefinitions(receipt, restored, { hashed: true, byName: false }).map((difference) => difference.name)).toEqual([
      'public.t.b',
      'public.t.gone',
      'public.t.new'
    ])
    expect(compareDefinitions(source, restored, { hashed: false, byName: true }).map((difference) => difference.name)).toEqual([
      'public.t.gone',
      'public.t.new'
    ])
  })

  test('a definition hashed from its kept bytes is the hash of its text', () => {
    const text = 'CHECK ((prix > (0)::numeric)) — ✓'
    expect(definitionHash(Buffer.from(text))).toBe(definitionHash(text))
  })
})
