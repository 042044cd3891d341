export { perplexity } from './perplexity.js';
export type { PerplexityOptions, PerplexityResult } from './perplexity.js';
