// Preloaded into every node process a benchmark run starts: reports its peak RSS on exit.
process.on('exit', () => {
  process.stderr.write(`\nflux-infra-bench maxrss_kb=${process.resourceUsage().maxRSS}\n`);
});
