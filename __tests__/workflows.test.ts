// The workflows cannot run here (no Docker); they are parsed and checked against what the action declares.

import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { Input, Output } from '../src/run/names.js'
import { ROOT } from './support/runner.js'

const load = (file: string) => parse(readFileSync(path.join(ROOT, file), 'utf8'))
const action = load('action.yml')
const ci = load('.github/workflows/ci.yml')

describe('action.yml', () => {
  test('runs dist/ on node24 with a post step that always runs', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post/index.js', 'post-if': 'always()' })
    expect(action.name).toBeTruthy()
    expect(action.description).toBeTruthy()
    expect(action.branding).toMatchObject({ icon: expect.any(String), color: expect.any(String) })
  })

  test('declares exactly the inputs and outputs the code uses', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Input).sort())
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Output).sort())
    for (const input of Object.values(action.inputs) as Array<{ description: string }>) expect(input.description.length).toBeGreaterThan(10)
  })
})

describe('.github/workflows/ci.yml', () => {
  test('the test job runs .ci/run', () => {
    const steps: Array<{ run?: string }> = ci.jobs.test.steps
    expect(steps.some((step) => step.run === 'bash .ci/run')).toBe(true)
  })

  test('the action verifies itself beside a healthy postgres service container', () => {
    const job = ci.jobs['verify-backup']
    const service = job.services.postgres
    expect(service.image).toBe('postgres:${{ matrix.postgres }}')
    expect(service.ports).toEqual(['5432:5432'])
    expect(service.options).toContain('--health-cmd pg_isready')
    const uses = job.steps.filter((step: { uses?: string }) => step.uses === './')
    expect(uses.length).toBeGreaterThanOrEqual(1)
    const url = uses[0].with['database-url'] as string
    expect(url).toBe(`postgresql://postgres:${service.env.POSTGRES_PASSWORD}@localhost:5432/${service.env.POSTGRES_DB}`)
    for (const key of Object.keys(uses[0].with)) expect(Object.values(Input)).toContain(key)
  })

  test('later steps read only outputs the action declares', () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/ci.yml'), 'utf8')
    const read = [...text.matchAll(/steps\.\w+\.outputs\.([\w-]+)/g)].map((match) => match[1])
    expect(read.length).toBeGreaterThan(0)
    for (const name of read) expect(Object.values(Output)).toContain(name)
  })
})
