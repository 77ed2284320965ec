// A plain-dump planner whose jobs are kept as its listener is told of them: the planner keeps only
// the jobs still open, the scheduler the rest until they have run.

import { PlainDumpPlanner, type PlannerOptions, type ReplayJob } from '../../src/restore/parallel/planner.js'

export type RecordedPlanner = PlainDumpPlanner & { jobs: ReplayJob[] }

export function recordingPlanner(options: PlannerOptions): RecordedPlanner {
  const jobs: ReplayJob[] = []
  const planner = new PlainDumpPlanner({ changed: (job) => (jobs[job.index] = job) }, options)
  return Object.assign(planner, { jobs })
}
