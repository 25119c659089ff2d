import { kmemProject } from '../../vitest.shared';

export default kmemProject('@kmem/x86-paging');
