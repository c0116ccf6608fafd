# medsam.mk: make rules for medsam-tools pipelines.
#
# Include it from a Makefile, declare the datasets, and ask for $(MEDSAM_ALL):
#
#   include medsam.mk
#   $(call medsam_nifti,CT,Abd,CT/images,CT/labels,)      # NIfTI -> out/npz/CT_Abd_<case>.npz
#   $(call medsam_png,Grey,Brain,2D/images,2D/labels,)    # PNG   -> out/npz/Grey_Brain_<stem>.npz
#   $(call medsam_segment_dir,challenge)                  # npz   -> out/segs/ (needs WEIGHTS=)
#   all: $(MEDSAM_ALL)
#
# With WEIGHTS= the npz of SEGMENT_CASES (default: all of out/npz/) are also
# segmented with one box per label of their own gts (medsam-segment
# --boxes-from-gts --segs-as-labels) into out/segs-gts/ (overlays in
# out/overlay-gts/) and scored against those gts: out/metrics.csv.
#
# Every output is written atomically by the tools (a temp file renamed into
# place), the npy and segmentation steps leave a stamp in $(MEDSAM_OUT)/.stamps
# only after the tool succeeded, and .DELETE_ON_ERROR removes a target whose
# recipe failed: an interrupted run never leaves a file make would take as
# done.  Safe with make -j.  Case names must not contain spaces.
#
# Variables (set them before the include or on the command line):
#   BUILD        a medsam-tools build folder; its src/tools/ is used when it holds
#                the tools, otherwise the medsam-* on PATH
#   MEDSAM_OUT   output folder (default out)
#   WEIGHTS      LiteMedSAM checkpoint; segmentation runs only when it is set
#   SEGMENT_CASES  with WEIGHTS: the out/npz cases (names without .npz) to
#                segment with boxes from their gts and score; 'all' (default)
#                for every one, empty for none
#   GT_DIR       ground truth npz ('gts', 'spacing') named as the segmented
#                challenge cases; when it exists they are scored too
#   PRE_CT_FLAGS, PRE_GREY_FLAGS, NPZ2NPY_FLAGS, SEGMENT_FLAGS, EVAL_FLAGS
#                extra options for each tool; SEGMENT_GTS_FLAGS only for the
#                boxes-from-gts segmentations (e.g. --box-margin 5)

MEDSAM_OUT ?= out
MEDSAM_STAMPS = $(MEDSAM_OUT)/.stamps
MEDSAM_IMG_SUFFIX ?= _0000.nii.gz
MEDSAM_GT_SUFFIX ?= .nii.gz

ifneq ($(BUILD),)
ifneq ($(wildcard $(BUILD)/src/tools/medsam-pre-ct),)
MEDSAM_BIN ?= $(BUILD)/src/tools/
else
$(warning BUILD=$(BUILD) has no src/tools/medsam-pre-ct: using the medsam-* tools on PATH)
endif
endif
MEDSAM_BIN ?=

PRE_CT ?= $(MEDSAM_BIN)medsam-pre-ct
PRE_GREY ?= $(MEDSAM_BIN)medsam-pre-grey-rgb
NPZ2NPY ?= $(MEDSAM_BIN)medsam-npz2npy
SEGMENT ?= $(MEDSAM_BIN)medsam-segment
EVAL ?= $(MEDSAM_BIN)medsam-eval

PRE_CT_FLAGS ?=
PRE_GREY_FLAGS ?=
NPZ2NPY_FLAGS ?=
SEGMENT_FLAGS ?=
SEGMENT_GTS_FLAGS ?=
EVAL_FLAGS ?=
SEGMENT_CASES ?= all

ifneq ($(WEIGHTS),)
ifeq ($(wildcard $(WEIGHTS)),)
$(error WEIGHTS=$(WEIGHTS): no such file (the LiteMedSAM checkpoint, lite_medsam.pth))
endif
endif

MEDSAM_NPZ :=
MEDSAM_SEGS :=

.DELETE_ON_ERROR:

# A killed tool leaves its temp file (.<name>.XXXXXX, and libzip's
# .<name>.XXXXXX.XXXXXX next to it); each recipe first removes those of the
# outputs it is about to write.  $(1): final names (shell globs allowed).
medsam_rm_temps = rm -f $(foreach f,$(1),$(dir $(f)).$(notdir $(f)).?????? $(dir $(f)).$(notdir $(f)).??????.??????)

# ---------------------------------------------------------------- raw -> npz
# $(1) modality (CT windows; anything else, e.g. MR, uses percentiles),
# $(2) anatomy, $(3) image folder, $(4) label folder, $(5) extra options.
# One case per label file <case>$(MEDSAM_GT_SUFFIX), image <case>$(MEDSAM_IMG_SUFFIX).
define medsam_nifti_rules
MEDSAM_NPZ += $$(patsubst $(4)/%$$(MEDSAM_GT_SUFFIX),$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz,$$(sort $$(wildcard $(4)/*$$(MEDSAM_GT_SUFFIX))))
$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz: $(3)/%$$(MEDSAM_IMG_SUFFIX) $(4)/%$$(MEDSAM_GT_SUFFIX)
	@mkdir -p $$(@D) && $$(call medsam_rm_temps,$$@)
	$$(PRE_CT) -q --modality $(1) $$(PRE_CT_FLAGS) $(5) $$^ -o $$@
endef
medsam_nifti = $(eval $(call medsam_nifti_rules,$(1),$(2),$(3),$(4),$(5)))

# 2D PNG images and PNG masks of the same name, arguments as above (for JPEG
# images write a rule like the one in medsam-pre-grey-rgb(1)).
define medsam_png_rules
MEDSAM_NPZ += $$(patsubst $(4)/%.png,$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz,$$(sort $$(wildcard $(4)/*.png)))
$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz: $(3)/%.png $(4)/%.png
	@mkdir -p $$(@D) && $$(call medsam_rm_temps,$$@)
	$$(PRE_GREY) -q $$(PRE_GREY_FLAGS) $(5) $$^ -o $$@
endef
medsam_png = $(eval $(call medsam_png_rules,$(1),$(2),$(3),$(4),$(5)))

# ---------------------------------------------------------------- npz -> npy
# One stamp per npz: $(MEDSAM_OUT)/npy/{imgs,gts}/<name>[-iii].npy are all
# written (each atomically) before the stamp is.
$(MEDSAM_STAMPS)/npy/%.done: $(MEDSAM_OUT)/npz/%.npz
	@$(call medsam_rm_temps,$(foreach d,imgs gts,$(MEDSAM_OUT)/npy/$(d)/$*.npy $(MEDSAM_OUT)/npy/$(d)/$*-[0-9][0-9][0-9]*.npy))
	$(NPZ2NPY) -q $(NPZ2NPY_FLAGS) $< -o $(MEDSAM_OUT)/npy
	@mkdir -p $(@D) && touch $@

# ---------------------------------------------------------------- segmentation
# $(1) a folder of challenge npz inputs (imgs, boxes).  Writes
# $(MEDSAM_OUT)/segs/<name>.npz and PNG overlays in $(MEDSAM_OUT)/overlay/.
define medsam_segment_rules
MEDSAM_SEGS += $$(patsubst $(1)/%.npz,$$(MEDSAM_STAMPS)/segs/%.done,$$(sort $$(wildcard $(1)/*.npz)))
$$(MEDSAM_STAMPS)/segs/%.done: $(1)/%.npz $$(WEIGHTS)
	@$$(call medsam_rm_temps,$$(MEDSAM_OUT)/segs/$$*.npz $$(MEDSAM_OUT)/overlay/$$*.png $$(MEDSAM_OUT)/overlay/$$*_z[0-9]*.png)
	$$(SEGMENT) -q $$(SEGMENT_FLAGS) -w $$(WEIGHTS) $$< -o $$(MEDSAM_OUT)/segs --overlay $$(MEDSAM_OUT)/overlay
	@mkdir -p $$(@D) && touch $$@
endef
medsam_segment_dir = $(eval $(call medsam_segment_rules,$(1)))

# ---------------------------------------------------------------- segmentation from gts
# $(MEDSAM_OUT)/npz/<name>.npz (imgs, gts) -> $(MEDSAM_OUT)/segs-gts/<name>.npz
# with one box per gts label (3D when gts is), segs holding the label values.
$(MEDSAM_STAMPS)/segs-gts/%.done: $(MEDSAM_OUT)/npz/%.npz $(WEIGHTS)
	@$(call medsam_rm_temps,$(MEDSAM_OUT)/segs-gts/$*.npz $(MEDSAM_OUT)/overlay-gts/$*.png $(MEDSAM_OUT)/overlay-gts/$*_z[0-9]*.png)
	$(SEGMENT) -q $(SEGMENT_FLAGS) $(SEGMENT_GTS_FLAGS) --boxes-from-gts --segs-as-labels -w $(WEIGHTS) $< -o $(MEDSAM_OUT)/segs-gts --overlay $(MEDSAM_OUT)/overlay-gts
	@mkdir -p $(@D) && touch $@

# (The including Makefile's first target stays the default goal.)
medsam_saved_goal := $(.DEFAULT_GOAL)
# Metrics: the segs-gts cases against their own gts in out/npz, and (when
# $(GT_DIR) exists) every challenge segmentation against $(GT_DIR)/<name>.npz.
# medsam-eval scores whole folders, so the recipe links exactly these pairs
# into a scratch folder under .stamps.  Prerequisites are expanded again once
# all datasets are declared.
.SECONDEXPANSION:
$(MEDSAM_OUT)/metrics.csv: $$(MEDSAM_GTSEG_STAMPS) $$(if $$(wildcard $$(GT_DIR)),$$(MEDSAM_SEGS) $$(wildcard $$(GT_DIR)/*.npz))
	@$(call medsam_rm_temps,$@)
	@rm -rf $(MEDSAM_METRICS_IN) && mkdir -p $(MEDSAM_METRICS_IN)/segs $(MEDSAM_METRICS_IN)/gts
	@set -e; cd $(MEDSAM_METRICS_IN); \
	for n in $(patsubst $(MEDSAM_STAMPS)/segs-gts/%.done,%,$(MEDSAM_GTSEG_STAMPS)); do \
	    ln -s $(abspath $(MEDSAM_OUT))/segs-gts/$$n.npz segs/; ln -s $(abspath $(MEDSAM_OUT))/npz/$$n.npz gts/; \
	done; \
	for n in $(if $(wildcard $(GT_DIR)),$(patsubst $(MEDSAM_STAMPS)/segs/%.done,%,$(MEDSAM_SEGS))); do \
	    ln -s $(abspath $(MEDSAM_OUT))/segs/$$n.npz segs/; \
	    if [ -f $(abspath $(GT_DIR))/$$n.npz ]; then ln -s $(abspath $(GT_DIR))/$$n.npz gts/; fi; \
	done
	$(EVAL) -q $(EVAL_FLAGS) --seg-dir $(MEDSAM_METRICS_IN)/segs --gt-dir $(MEDSAM_METRICS_IN)/gts -o $@
	@rm -rf $(MEDSAM_METRICS_IN)
.DEFAULT_GOAL := $(medsam_saved_goal)

# ---------------------------------------------------------------- targets
# Expanded where used, after the datasets are declared.
MEDSAM_NPY_STAMPS = $(patsubst $(MEDSAM_OUT)/npz/%.npz,$(MEDSAM_STAMPS)/npy/%.done,$(MEDSAM_NPZ))
MEDSAM_METRICS_IN = $(MEDSAM_STAMPS)/metrics-in
MEDSAM_GTSEG_NAMES = $(if $(filter all,$(SEGMENT_CASES)),$(patsubst $(MEDSAM_OUT)/npz/%.npz,%,$(MEDSAM_NPZ)),$(SEGMENT_CASES))
MEDSAM_GTSEG_STAMPS = $(if $(WEIGHTS),$(patsubst %,$(MEDSAM_STAMPS)/segs-gts/%.done,$(MEDSAM_GTSEG_NAMES)))
MEDSAM_ALL = $(MEDSAM_NPZ) $(MEDSAM_NPY_STAMPS) \
	$(if $(WEIGHTS),$(MEDSAM_SEGS) $(MEDSAM_GTSEG_STAMPS) \
	  $(if $(or $(MEDSAM_GTSEG_STAMPS),$(wildcard $(GT_DIR))),$(MEDSAM_OUT)/metrics.csv))
