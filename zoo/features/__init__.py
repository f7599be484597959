"""The official SoccerNet ResNet-TF2 features from any video: `python -m zoo.features`.

    python -m zoo.features --video 1_224p.mkv --out 1_ResNET_TF2_PCA512.npy --pca pca_512_TF2.npz \
        [--weights resnet152_weights_tf_dim_ordering_tf_kernels.h5] [--raw-out 1_ResNET_TF2.npy]

Frames at 2 fps by the official FrameCV rule, the official crop and colour handling
(`zoo.features.frames`), the Keras ResNet-152 `avg_pool` (`zoo.models.keras_resnet`, weights from
the Keras `.h5` file through `zoo.convert.keras_resnet`), and the official PCA to 512
(`zoo.features.pca`: the published pickles converted once, or a PCA fitted on your features). So a
model trained on the official `ResNET_TF2[_PCA512]` features runs on your own match video.
"""

from zoo.features.extract import ResNetFeatures, extract_video, load_resnet_variables
from zoo.features.pca import FeaturePca, convert_published, fit_pca, load_pca

__all__ = ["FeaturePca", "ResNetFeatures", "convert_published", "extract_video", "fit_pca", "load_pca",
           "load_resnet_variables"]
