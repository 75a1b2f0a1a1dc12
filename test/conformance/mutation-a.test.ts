import { mutationTests } from './mutation-shared.js';

mutationTests('a');
