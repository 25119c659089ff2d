export * from './api';
export * from './elf/elf-errors';
export * from './elf/parse-elf';
export * from './elf/load-plan';
export * from './elf/stack-image';
