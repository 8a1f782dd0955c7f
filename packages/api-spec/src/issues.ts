import type { z } from 'zod';

/** One line for a zod error: each issue as "path: message", at most five of them. */
export function summariseIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(args)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return lines.join('; ') + more;
}
