export { RangeAllocator } from './allocator.js';
