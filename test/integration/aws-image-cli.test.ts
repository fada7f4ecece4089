import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

const FAKE_DOCKER = path.join(ROOT, 'test', 'fixtures', 'aws', 'fake-docker.sh');

/** The README's `tsr image build --tag v1`, run as written with a stand-in docker (no docker daemon here). */
describe('tsr image build from the CLI', () => {
  it('runs docker buildx for linux/arm64 on the repository Dockerfile, with --json output', async () => {
    const log = path.join(tempWorkspace('tsr-image-cli-'), 'docker.log');
    const { result, json } = await runJson<{ image: string; platform: string }>(['image', 'build', '--tag', 'v1'], {
      env: { TSR_DOCKER: FAKE_DOCKER, FAKE_DOCKER_LOG: log },
    });
    expect(result.code).toBe(0);
    expect(json).toMatchObject({ image: 'tsr-services:v1', platform: 'linux/arm64' });
    expect(readFileSync(log, 'utf8').trim()).toBe('buildx build --platform linux/arm64 --tag tsr-services:v1 --load .');
  });

  it('without docker it says what to install and how to do without', async () => {
    const result = await runTsr(['image', 'build'], { env: { TSR_DOCKER: '/nonexistent/docker' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TSR_DOCKER=/nonexistent/docker is not an executable file');
    expect(result.stderr).toMatch(/without docker, build and push from a machine or CI job that has it/);
  });
});
