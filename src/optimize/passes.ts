// The optimizer's home: a named, ordered list of IR -> IR passes. The compiler will run
// them between `check-ir` and `emit`, and prove each result equal to its input. The list
// is empty until the optimizer lands (issue: a verified optimizer); the layer sits
// between the backends (whose capabilities a pass may consult) and the compiler.
import type { RuleSet } from '../ir/types.js';

export interface OptimizePass {
  name: string;
  run(rs: RuleSet): RuleSet;
}

export const optimizePasses: readonly OptimizePass[] = [];
