// The runner's tool cache (@actions/tool-cache) behind the engine's ToolCache: a second run in the
// same job, or a later job on a self-hosted runner, finds the client tools already there.

import * as tc from '@actions/tool-cache'
import { TOOL_NAME, type ToolCache } from '../tools/cache.js'

export const runnerToolCache: ToolCache = {
  find: (version, arch) => tc.find(TOOL_NAME, version, arch) || undefined,
  versions: (arch) => tc.findAllVersions(TOOL_NAME, arch),
  add: (sourceDirectory, version, arch) => tc.cacheDir(sourceDirectory, TOOL_NAME, version, arch)
}
