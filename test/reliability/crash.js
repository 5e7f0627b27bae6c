// Old name of kills.js (the crash-consistency phase), kept so that either name works.
export { killsPhase, killsPhase as crashPhase, makeFixtures } from './kills.js';
