"""`pixels batch --ray`: the same items on a Ray cluster, one model per worker.

Workers are Ray actors that load the model once each (a GPU each where the cluster has
GPUs, else CPU workers). The driver hands an item to whichever worker is
free (an actor pool: items are few and coarse, seconds each, so a pool that keeps every
worker busy is all the scheduling they need) and writes the report. Inputs and outputs
are paths every node sees: a shared folder.

A worker that dies is restarted by Ray and the call it was running retried; if that fails
too, the driver gives the item to another worker. A result is written atomically with its
item's key, so a retry whose first attempt had already written it writes nothing again:
no item is lost, none written twice.
"""

from collections import deque

from pixels_engine.errors import PixelsError

from .batch_edit import Record, edit_item

RESTARTS = 3  # a dead worker is restarted this often
ATTEMPTS = 3  # an item is given to a worker at most this often


class EditWorker:
    """A Ray actor: one loaded model, editing items in turn."""

    def __init__(self, model: str, device: str, dtype: str, offload: bool, compile: str, threads):
        import torch

        from pixels_engine import Editor, load_model

        # Ray gives a one-core worker one thread; a CPU edit's bytes depend on how its
        # sums are split, so it runs with the threads a local run would have: the same
        # bytes as `pixels batch` here (workers on one machine then share its cores).
        torch.set_num_threads(threads)
        loaded = load_model(model, device, dtype, offload)
        if compile != "off":
            from pixels_engine.compiled import compile_model

            loaded, _ = compile_model(loaded, compile)
        self.editor = Editor(loaded)

    def edit(self, item, out: str) -> Record:
        from pathlib import Path

        return edit_item(self.editor, item, Path(out))


def run_on_ray(items, args, report, stop) -> None:
    try:
        import ray
        from ray.exceptions import RayActorError, RayTaskError
    except ImportError:
        raise PixelsError(
            "needs Ray, an optional part: pip install 'pixels-studio[batch]'", "ray"
        ) from None
    from tqdm import tqdm

    if args.ray == "local":
        ray.init(num_cpus=args.workers or 2, include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=args.ray, log_to_driver=False)
        except ConnectionError as e:
            raise PixelsError(f"no Ray cluster answers at {args.ray} ({e})", "ray") from None
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        count = args.workers or gpus or 2
        options = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        worker = ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS, **options)(EditWorker)
        threads = local_threads()
        free = deque(
            worker.remote(args.model, args.device, args.dtype, args.offload, args.compile, threads)
            for _ in range(count)
        )
        waiting, running, tries = deque(items), {}, {}
        out = str(args.out.resolve())

        def start() -> None:
            item, actor = waiting.popleft(), free.popleft()
            tries[item.id] = tries.get(item.id, 0) + 1
            running[actor.edit.remote(item, out)] = (item, actor)

        with tqdm(total=len(items), desc="pixels batch (ray)", unit="edit") as bar:
            while waiting and free:
                start()
            while running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                item, actor = running.pop(ref)
                free.append(actor)  # Ray restarts a worker that died
                try:
                    record = ray.get(ref)
                except (RayActorError, RayTaskError) as e:
                    record = None
                    if tries[item.id] < ATTEMPTS:  # to the next free worker
                        waiting.appendleft(item)
                    else:
                        error = f"its worker failed {ATTEMPTS} times ({type(e).__name__})"
                        record = Record(item.line, item.id, "failed", error=error)
                if record is not None:
                    report.add(record)
                    bar.update()
                while waiting and free and not stop.asked:
                    start()
    finally:
        ray.shutdown()


def local_threads() -> int:
    import torch

    return torch.get_num_threads()
