import { describe, expect, it } from 'vitest';
import { KmemError } from '../src/index';

class ExampleError extends KmemError {
  readonly code = 'E_EXAMPLE';
}

describe('KmemError', () => {
  it('carries a stable code and its class name', () => {
    const e = new ExampleError('boom');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('E_EXAMPLE');
    expect(e.name).toBe('ExampleError');
    expect(e.message).toBe('boom');
  });
});
