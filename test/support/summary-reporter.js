// Prints the run's plain closing line, `N passed, N failed`, on stdout. A suite that
// fails before running its tests (a syntax error, a failing beforeAll) counts as failed.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed\n`);
  }
}
module.exports = SummaryReporter;
