/**
 * npm run structure: the figures docs/architecture.md and the structure issue track. It prints the
 * largest file, the largest class and the longest function of the production code (tests, bench/
 * and tools/ left out), and the import lines from jobs/ into subgraphs/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const files = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.endsWith('.test.ts') && !/^(test|bench|tools)\//.test(f));

let largestFile = { where: '', lines: 0 };
let largestClass = { where: '', lines: 0 };
let longestFunction = { where: '', lines: 0 };
let jobsIntoSubgraphs = 0;

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length;
  if (lines > largestFile.lines) largestFile = { where: file, lines };
  if (file.startsWith('jobs/')) jobsIntoSubgraphs += (text.match(/from '(\.\.\/)+subgraphs\//g) ?? []).length;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const visit = (node: ts.Node): void => {
    const span = lineOf(node.getEnd()) - lineOf(node.getStart()) + 1;
    if (ts.isClassDeclaration(node) && span > largestClass.lines) largestClass = { where: `${file} ${node.name?.text ?? '(anonymous)'}`, lines: span };
    if (ts.isFunctionLike(node) && 'body' in node && node.body && span > longestFunction.lines) {
      const name = node.name?.getText() ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '(anonymous)');
      longestFunction = { where: `${file} ${name}`, lines: span };
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

console.log(`largest file      ${largestFile.lines} lines  ${largestFile.where}`);
console.log(`largest class     ${largestClass.lines} lines  ${largestClass.where}`);
console.log(`longest function  ${longestFunction.lines} lines  ${longestFunction.where}`);
console.log(`imports from jobs/ into subgraphs/: ${jobsIntoSubgraphs}`);
