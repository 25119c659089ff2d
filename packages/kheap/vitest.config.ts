import { kmemProject } from '../../vitest.shared';

export default kmemProject('@kmem/kheap');
