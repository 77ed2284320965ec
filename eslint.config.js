// ESLint, flat config: the recommended rules of ESLint and typescript-eslint; Prettier owns layout.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'coverage/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off'
    }
  },
  {
    // The engine only wires phases: the stages read files and run tools, taking narrow requests.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:fs', 'fs', 'node:fs/promises', 'fs/promises'].map((name) => ({
            name,
            message:
              'The engine reads and writes no file: that work belongs to the stage it serves (backup/, physical/, validate/, ' +
              'connection/, run/...), called with a narrow request.'
          })),
          patterns: [
            {
              group: ['**/tools/process*'],
              message:
                'The engine runs no child process: a tool run belongs to its stage (create/, validate/, restore/, physical/), ' +
                'which calls tools/process.'
            }
          ]
        }
      ]
    }
  },
  prettier
)
