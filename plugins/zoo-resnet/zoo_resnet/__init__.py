"""zoo plugin `resnet`: torchvision's ResNets; pretrained weights come from the Hub through zoo's catalog, and
timm's ResNet repositories load by repo id."""

from __future__ import annotations

from zoo.plugin import Claim, ForeignRepo, ModelSpec, RecipeSpec, hookimpl

DEPTHS = (18, 34, 50, 101, 152)


@hookimpl
def register_models(register) -> None:
    for depth in DEPTHS:
        register(
            ModelSpec(
                name=f"resnet{depth}",
                task="image-classification",
                factory="zoo_resnet.models:build",
                kwargs={"arch": f"resnet{depth}", "num_classes": 1000},
                description=f"ResNet-{depth} (He et al. 2015), torchvision's builder",
                metadata={"input_size": [3, 224, 224]},
                default_recipe="resnet-finetune",
            )
        )


@hookimpl
def register_recipes(register) -> None:
    from zoo_resnet.recipe_defaults import CPU_DEFAULTS, GPU_DEFAULTS, LIMITS

    register(
        RecipeSpec(
            name="resnet-finetune",
            model="resnet*",
            dataset="imagefolder",
            task="image-classification",
            description="Fine-tune from pretrained weights: new head, AdamW, warmup + cosine, MixUp/CutMix",
            cpu_defaults=CPU_DEFAULTS,
            gpu_defaults=GPU_DEFAULTS,
            metrics=("accuracy", "top5", "loss"),
            factory="zoo_resnet.recipe:ResNetFinetune",
            limits=LIMITS,
        )
    )


@hookimpl
def claim_repo(repo: ForeignRepo) -> Claim | None:
    from zoo_resnet.timm_repos import claim

    return claim(repo, DEPTHS)
