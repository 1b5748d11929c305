// Records the run's plain closing line, `N passed, N failed`; scripts/ordo.sh prints it
// after Jest exits so it is the last line of the run. A suite that fails before running
// its tests (a syntax error, a failing beforeAll) counts as failed.
const fs = require('fs');
const path = require('path');

const SUMMARY = path.resolve(__dirname, '../../test-results/summary.txt');

class SummaryReporter {
  onRunStart() {
    fs.rmSync(SUMMARY, { force: true });
  }

  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    fs.mkdirSync(path.dirname(SUMMARY), { recursive: true });
    fs.writeFileSync(SUMMARY, `${results.numPassedTests} passed, ${failed} failed\n`);
  }
}

module.exports = SummaryReporter;
module.exports.SUMMARY = SUMMARY;
