/** Replaces every Terraform interpolation `${…}` (nested braces included) with a placeholder so the JSON parses. */
export function withoutInterpolations(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      let depth = 0;
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) break;
      }
      out += 'TF_EXPR';
      i = j;
    } else out += text[i];
  }
  return out;
}
