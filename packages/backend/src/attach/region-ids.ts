let next = 1;

/**
 * Ids for one guest's regions, unique in this process: buffer references name the memory
 * region; the control region's id only has to differ from it.
 */
export function nextRegionIds(): { memory: number; control: number; data: number } {
  const id = next++;
  if (next >= 0x4000_0000) next = 1;
  return { memory: id, control: 0x4000_0000 + id, data: 0x8000_0000 + id };
}
