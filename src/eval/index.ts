export { perplexity } from './perplexity.js';
export type { PerplexityOptions, PerplexityResult } from './perplexity.js';
export { morePasses, median, AUTO_PASS_SECONDS, MAX_AUTO_PASSES } from './passes.js';
