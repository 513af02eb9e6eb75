import { runHaServicesContract } from './high-availability.contract.ts'
import { MemoryHaServices } from '../../../../src/runtime/jobmanager/ha/memory-ha-services.ts'

runHaServicesContract('memory', async () => ({ ha: new MemoryHaServices(), close: async () => {} }))
