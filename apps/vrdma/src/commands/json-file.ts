import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/** A file the command was given that it cannot use; the message is one line naming the file. */
export class FileError extends Error {
  override name = 'FileError';
}

/**
 * Reads a JSON file a user wrote and checks it against `schema`: a missing file, a syntax
 * error, a bad value or an unknown key is one line that names the file (and the key).
 */
export function readJsonFile<S extends z.ZodType>(
  path: string,
  what: string,
  schema: S,
): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`${what} ${path} does not exist`);
    if (code === 'EISDIR') throw new FileError(`${what} ${path} is a folder, not a file`);
    if (code === 'EACCES')
      throw new FileError(`${what} ${path} cannot be read (permission denied)`);
    throw new FileError(`${what} ${path} cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FileError(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new FileError(`${what} ${path}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The first problems of a parse, named by their place in the file: `host.leaseMs: …`. */
function describeIssues(error: z.ZodError): string {
  const described = error.issues.slice(0, 3).map((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => `unknown key "${at ? `${at}.` : ''}${key}"`).join('; ');
    return `${at || '(top level)'}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? `; and ${error.issues.length - 3} more` : '';
  return described.join('; ') + more;
}
