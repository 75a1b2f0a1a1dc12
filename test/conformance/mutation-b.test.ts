import { mutationTests } from './mutation-shared.js';

mutationTests('b');
