// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const path = require('path');

const baseConfig = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...baseConfig,
  // Editor tests click and type like a user. The timeout is a hang guard, not a speed check:
  // with both cores busy (issue 9: two CPU spinners and other builds beside a run) a test that
  // takes 4 s on an idle machine took over 60 s, and a test that times out goes on typing in
  // the background into the next test's editor. 10 minutes per test.
  testTimeout: 600000,
  // the project's own Node.js and npm (scripts/node-toolchain.sh) and other tool caches
  modulePathIgnorePatterns: ['<rootDir>/.tools/', '<rootDir>/.cache/'],
  moduleNameMapper: {
    ...baseConfig.moduleNameMapper,
    'react-inlinesvg': path.resolve(__dirname, 'jest', 'react-inlinesvg.tsx'),
  },
  transform: {
    ...baseConfig.transform,
    // Some of @grafana/data's dependencies ship only ES modules with an .mjs extension
    // (d3-color 3.1.1: dist/d3-color.mjs), which the scaffold's `(t|j)sx?` transform does not
    // match. Compile them to CommonJS with the same swc transformer. Which node_modules get
    // transformed at all is still decided by the scaffold's transformIgnorePatterns.
    '^.+\\.mjs$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
  },
  // @grafana/plugin-ui's CommonJS build requires a few packages that ship only ES modules.
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, '@marcbachmann/cel-js', 'acorn-typescript'])],
};
